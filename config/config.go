// Package config reads tsunagu's typed configuration from the environment.
// Secrets come only from the environment; every default lives in Defaults.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is everything `tsunagu serve` needs. The zero value is not usable:
// start from Defaults or FromEnv.
type Config struct {
	// LineChannelSecret verifies X-Line-Signature (LINE_CHANNEL_SECRET, required).
	// It also keys the hash that turns a LINE userId into a Redis key.
	LineChannelSecret string
	// LineChannelAccessToken authorises calls to the Messaging API
	// (LINE_CHANNEL_ACCESS_TOKEN, required).
	LineChannelAccessToken string
	// LineAPIBaseURL is the Messaging API endpoint (LINE_API_BASE_URL); tests
	// point it at a fake.
	LineAPIBaseURL string

	// RedisURL names the Redis to use (REDIS_URL): redis://, rediss:// or
	// unix:// for one node, redis-sentinel:// or rediss-sentinel:// for a
	// Sentinel-watched master. With RedisSentinelMaster or RedisClusterAddrs
	// its host is not used, its credentials, TLS and options are.
	RedisURL string
	// RedisSentinelMaster is the master's name Sentinel knows
	// (REDIS_SENTINEL_MASTER); RedisSentinelAddrs are the sentinels
	// (REDIS_SENTINEL_ADDRS, host:port, comma-separated).
	RedisSentinelMaster string
	RedisSentinelAddrs  []string
	// RedisClusterAddrs are seed nodes of a Redis Cluster (REDIS_CLUSTER_ADDRS,
	// host:port, comma-separated); the others are found from them.
	RedisClusterAddrs []string
	// RedisWaitReplicas is how many replicas must hold a resident's message
	// before LINE is told it arrived (REDIS_WAIT_REPLICAS, Redis WAIT); 0
	// does not wait. With replicas, a master killed just after it answered
	// can lose what they had not received yet, and LINE does not resend it.
	RedisWaitReplicas int
	// RedisWaitTimeout bounds that wait (REDIS_WAIT_TIMEOUT); past it the
	// message is kept on the master alone, and the log says so.
	RedisWaitTimeout time.Duration
	// KeyPrefix starts every Redis key (TSUNAGU_KEY_PREFIX), so that several
	// deployments can share one Redis.
	KeyPrefix string

	// Addr is where the HTTP server listens (ADDR).
	Addr string
	// FlowPath is a flow file or folder (TSUNAGU_FLOW); empty means the
	// embedded default flow.
	FlowPath string
	// Shards is how many intake streams residents are spread over
	// (TSUNAGU_SHARDS). A resident always lands in the same shard, and a shard
	// is worked by one worker at a time, which keeps each resident's events in
	// order; each process runs one worker per shard. Changing it reorders
	// only events still waiting during a restart.
	Shards int
	// ResidentLimit and ResidentPer are how fast a resident may write
	// (TSUNAGU_RESIDENT_LIMIT events per TSUNAGU_RESIDENT_PER) before they
	// get one gentle note; their words are never dropped, only merged into
	// fewer relays. A limit of 0 turns the note off.
	ResidentLimit int
	ResidentPer   time.Duration
	// LineSenders bounds the calls in flight to LINE (TSUNAGU_LINE_SENDERS);
	// as many idle connections to LINE are kept.
	LineSenders int
	// HTTPReadTimeout bounds reading a whole request, headers and body
	// (TSUNAGU_HTTP_READ_TIMEOUT): a client that sends slowly is cut off.
	HTTPReadTimeout time.Duration
	// HTTPWriteTimeout bounds writing the answer (TSUNAGU_HTTP_WRITE_TIMEOUT).
	HTTPWriteTimeout time.Duration
	// HTTPIdleTimeout closes a keep-alive connection left idle this long
	// (TSUNAGU_HTTP_IDLE_TIMEOUT).
	HTTPIdleTimeout time.Duration
	// HTTPMaxHeaderBytes bounds a request's headers (TSUNAGU_HTTP_MAX_HEADER_BYTES).
	HTTPMaxHeaderBytes int
	// BodyBudget bounds the request bodies being read at once, in bytes
	// (TSUNAGU_BODY_BUDGET_MB, in MiB): past it a request is answered 503
	// before its body is read, and LINE delivers it again.
	BodyBudget int64
	// Retention is how long what is kept about a resident lives after its
	// last use (TSUNAGU_RETENTION, a Go duration such as "720h"): their
	// session, a closed case with its links, the queues' streams, and the
	// longest any dedupe mark lives (docs/privacy.md).
	Retention time.Duration
	// OpenCaseMax is how long an open case lives after its last activity
	// (TSUNAGU_OPEN_CASE_MAX); its thread is told shortly before.
	OpenCaseMax time.Duration
	// EraseSlack rewrites every Slack post that quoted a resident who
	// erased their data (TSUNAGU_ERASE_SLACK, true by default); false is
	// for a city whose own rules keep the staff's record, and the resident
	// is told so.
	EraseSlack bool
	// ClaimAfter is how long a shard lease lives without renewal; after that a
	// crashed worker's pending events are claimed by another (TSUNAGU_CLAIM_AFTER).
	ClaimAfter time.Duration
	// ShutdownTimeout bounds graceful shutdown (TSUNAGU_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// LogFormat is "json" (default) or "text" (LOG_FORMAT).
	LogFormat string
	// PprofAddr, when set, serves Go's profiler (net/http/pprof) on this
	// address, apart from the public one (TSUNAGU_PPROF_ADDR, e.g.
	// "127.0.0.1:6060"); empty by default.
	PprofAddr string

	// SlackBotToken is the bot's xoxb- token (SLACK_BOT_TOKEN, required):
	// without Slack, handoffs would reach no one.
	SlackBotToken string
	// SlackSigningSecret verifies Slack's requests (SLACK_SIGNING_SECRET);
	// required unless SlackAppToken is set.
	SlackSigningSecret string
	// SlackAPIBaseURL is Slack's Web API base (SLACK_API_BASE_URL); tests point it at a fake.
	SlackAPIBaseURL string
	// SlackAppToken is an xapp- token; when set, Socket Mode is used
	// (SLACK_APP_TOKEN), for cities that cannot expose a public URL.
	SlackAppToken string
	// SlackUrgentMention is who an urgent card mentions: a user group id or
	// "here"/"channel" (SLACK_URGENT_MENTION).
	SlackUrgentMention string
	// SlackLeadMention is who an escalation reminder mentions (SLACK_LEAD_MENTION).
	SlackLeadMention string
	// SlackEscalateAfter is how long a case may stay unclaimed before the
	// reminder (SLACK_ESCALATE_AFTER).
	SlackEscalateAfter time.Duration
	// SlackEscalateUrgentAfter is the same for urgent cases (SLACK_ESCALATE_URGENT_AFTER).
	SlackEscalateUrgentAfter time.Duration
	// SlackAuthCheckInterval is how often Slack's auth.test is repeated,
	// for /readyz (SLACK_AUTH_CHECK_INTERVAL).
	SlackAuthCheckInterval time.Duration
	// SlackShowStaffNames shows residents the staff member's name after the
	// role (SLACK_SHOW_STAFF_NAMES=true).
	SlackShowStaffNames bool
}

// Defaults returns the configuration used when a variable is unset.
func Defaults() Config {
	return Config{
		LineAPIBaseURL: "https://api.line.me",
		RedisURL:       "redis://127.0.0.1:6379/0",
		KeyPrefix:      "tsunagu:",
		Addr:           ":8080",
		Shards:         8,
		ResidentLimit:  12,
		ResidentPer:    time.Minute,
		LineSenders:    64,

		HTTPReadTimeout:    10 * time.Second,
		HTTPWriteTimeout:   15 * time.Second,
		HTTPIdleTimeout:    60 * time.Second,
		HTTPMaxHeaderBytes: 32 << 10,
		BodyBudget:         32 << 20,

		RedisWaitTimeout: 250 * time.Millisecond,

		Retention:       30 * 24 * time.Hour,
		OpenCaseMax:     180 * 24 * time.Hour,
		EraseSlack:      true,
		ClaimAfter:      30 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		LogFormat:       "json",

		SlackAPIBaseURL:          "https://slack.com/api/",
		SlackUrgentMention:       "here",
		SlackLeadMention:         "here",
		SlackEscalateAfter:       30 * time.Minute,
		SlackEscalateUrgentAfter: 5 * time.Minute,
		SlackAuthCheckInterval:   time.Minute,
	}
}

// FromEnv reads the configuration through getenv (os.Getenv in production).
// All problems are reported together, each naming its variable.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	var errs []error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	list := func(name string, dst *[]string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = splitList(v)
		}
	}
	required := func(name string, dst *string) {
		str(name, dst)
		if *dst == "" {
			errs = append(errs, MissingError{Name: name})
		}
	}
	num := func(name string, dst *int, min int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number of at least %d", name, v, min))
			return
		}
		*dst = n
	}
	dur := func(name string, dst *time.Duration) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as \"720h\" or \"30s\"", name, v))
			return
		}
		*dst = d
	}
	boolean := func(name string, dst *bool) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			return
		}
		*dst = b
	}

	required("LINE_CHANNEL_SECRET", &c.LineChannelSecret)
	required("LINE_CHANNEL_ACCESS_TOKEN", &c.LineChannelAccessToken)
	str("LINE_API_BASE_URL", &c.LineAPIBaseURL)
	str("REDIS_URL", &c.RedisURL)
	str("REDIS_SENTINEL_MASTER", &c.RedisSentinelMaster)
	list("REDIS_SENTINEL_ADDRS", &c.RedisSentinelAddrs)
	list("REDIS_CLUSTER_ADDRS", &c.RedisClusterAddrs)
	num("REDIS_WAIT_REPLICAS", &c.RedisWaitReplicas, 0)
	dur("REDIS_WAIT_TIMEOUT", &c.RedisWaitTimeout)
	str("TSUNAGU_KEY_PREFIX", &c.KeyPrefix)
	str("ADDR", &c.Addr)
	str("TSUNAGU_FLOW", &c.FlowPath)
	num("TSUNAGU_SHARDS", &c.Shards, 1)
	num("TSUNAGU_RESIDENT_LIMIT", &c.ResidentLimit, 0)
	dur("TSUNAGU_RESIDENT_PER", &c.ResidentPer)
	num("TSUNAGU_LINE_SENDERS", &c.LineSenders, 1)
	dur("TSUNAGU_HTTP_READ_TIMEOUT", &c.HTTPReadTimeout)
	dur("TSUNAGU_HTTP_WRITE_TIMEOUT", &c.HTTPWriteTimeout)
	dur("TSUNAGU_HTTP_IDLE_TIMEOUT", &c.HTTPIdleTimeout)
	num("TSUNAGU_HTTP_MAX_HEADER_BYTES", &c.HTTPMaxHeaderBytes, 1024)
	budget := int(c.BodyBudget >> 20)
	num("TSUNAGU_BODY_BUDGET_MB", &budget, 1)
	c.BodyBudget = int64(budget) << 20
	dur("TSUNAGU_RETENTION", &c.Retention)
	dur("TSUNAGU_OPEN_CASE_MAX", &c.OpenCaseMax)
	boolean("TSUNAGU_ERASE_SLACK", &c.EraseSlack)
	dur("TSUNAGU_CLAIM_AFTER", &c.ClaimAfter)
	dur("TSUNAGU_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	str("LOG_FORMAT", &c.LogFormat)
	str("TSUNAGU_PPROF_ADDR", &c.PprofAddr)
	required("SLACK_BOT_TOKEN", &c.SlackBotToken)
	str("SLACK_SIGNING_SECRET", &c.SlackSigningSecret)
	str("SLACK_API_BASE_URL", &c.SlackAPIBaseURL)
	str("SLACK_APP_TOKEN", &c.SlackAppToken)
	str("SLACK_URGENT_MENTION", &c.SlackUrgentMention)
	str("SLACK_LEAD_MENTION", &c.SlackLeadMention)
	dur("SLACK_ESCALATE_AFTER", &c.SlackEscalateAfter)
	dur("SLACK_ESCALATE_URGENT_AFTER", &c.SlackEscalateUrgentAfter)
	dur("SLACK_AUTH_CHECK_INTERVAL", &c.SlackAuthCheckInterval)
	boolean("SLACK_SHOW_STAFF_NAMES", &c.SlackShowStaffNames)
	if c.SlackSigningSecret == "" && c.SlackAppToken == "" {
		errs = append(errs, MissingError{Name: "SLACK_SIGNING_SECRET", Or: "SLACK_APP_TOKEN for Socket Mode"})
	}
	if !strings.HasSuffix(c.SlackAPIBaseURL, "/") {
		c.SlackAPIBaseURL += "/"
	}

	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	errs = append(errs, checkURL("LINE_API_BASE_URL", c.LineAPIBaseURL), checkURL("SLACK_API_BASE_URL", c.SlackAPIBaseURL))
	if c.SlackBotToken != "" && !botToken.MatchString(c.SlackBotToken) {
		// A user token (xoxp-) would post as a person, and one made for
		// another use fails only when the first case is handed off.
		errs = append(errs, fmt.Errorf("SLACK_BOT_TOKEN=%s: want the app's bot token (xoxb-…, under OAuth & Permissions)", tokenShape(c.SlackBotToken)))
	}
	if c.SlackAppToken != "" && !appToken.MatchString(c.SlackAppToken) {
		errs = append(errs, fmt.Errorf("SLACK_APP_TOKEN=%s: want an app-level token (xapp-1-A…-…-…, under Basic Information) with connections:write", tokenShape(c.SlackAppToken)))
	}
	errs = append(errs, checkMention("SLACK_URGENT_MENTION", c.SlackUrgentMention), checkMention("SLACK_LEAD_MENTION", c.SlackLeadMention))
	if _, err := c.RedisOptions(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// MissingError is a required setting that is not set.
type MissingError struct {
	Name string
	// Or names what may be set instead.
	Or string
}

func (e MissingError) Error() string {
	if e.Or != "" {
		return e.Name + " is required (or " + e.Or + ")"
	}
	return e.Name + " is required"
}

// FromEnvFor reads the configuration like FromEnv, but of the required
// settings it requires only those named in need: the tools that read the
// statistics or set the LINE rich menu need no Slack secret.
func FromEnvFor(getenv func(string) string, need ...string) (Config, error) {
	c, err := FromEnv(getenv)
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) {
		return c, err
	}
	var keep []error
	for _, e := range all.Unwrap() {
		var m MissingError
		if errors.As(e, &m) && !slices.Contains(need, m.Name) {
			continue
		}
		keep = append(keep, e)
	}
	return c, errors.Join(keep...)
}

var (
	botToken = regexp.MustCompile(`^xoxb-[0-9A-Za-z-]+$`)
	appToken = regexp.MustCompile(`^xapp-[0-9]+-[0-9A-Z]+-[0-9]+-[0-9a-z]+$`)
	// mentionID is a Slack user-group (S…), user (U…) or enterprise user
	// (W…) id as Slack shows it in a profile's "Copy member ID".
	mentionID = regexp.MustCompile(`^[SUW][0-9A-Z]{6,}$`)
)

// tokenShape names what a token starts with, never the token itself.
func tokenShape(tok string) string {
	if i := strings.IndexByte(tok, '-'); i > 0 && i <= 5 {
		return fmt.Sprintf("%q", tok[:i+1]+"…")
	}
	return "(a value of another kind)"
}

// checkMention refuses a mention Slack would print as plain text: the
// crisis path depends on it reaching someone's phone.
func checkMention(name, v string) error {
	switch {
	case v == "here" || v == "channel" || v == "everyone":
		return nil
	case mentionID.MatchString(v):
		return nil
	}
	hint := " (a display name notifies no one: copy the member or group id from Slack)"
	switch bare := strings.TrimLeft(v, "@!"); {
	case bare == "here" || bare == "channel":
		hint = fmt.Sprintf(" (write %s, without the %c)", bare, v[0])
	case strings.HasPrefix(v, "<"):
		hint = " (write the bare id, not Slack's <…> markup)"
	}
	return fmt.Errorf("%s=%q: it would notify no one: want a user-group id (S…), a user id (U… or W…), here or channel%s", name, v, hint)
}

// checkURL wants an absolute http(s) URL with a host.
func checkURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s=%q: want an http:// or https:// URL", name, v)
	}
	return nil
}
