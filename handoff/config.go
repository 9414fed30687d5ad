package handoff

import (
	"errors"
	"time"
)

// Config is the Slack side of tsunagu. The lead maps SLACK_* environment
// variables onto it in config/; zero values get the defaults of withDefaults.
type Config struct {
	// BotToken is the bot's xoxb- token (SLACK_BOT_TOKEN); required.
	BotToken string
	// SigningSecret verifies requests from Slack (SLACK_SIGNING_SECRET);
	// required unless AppToken is set (Socket Mode needs no public endpoint).
	SigningSecret string
	// APIBaseURL is Slack's Web API base ("https://slack.com/api/"); tests
	// point it at handoff/slackfake (SLACK_API_BASE_URL).
	APIBaseURL string
	// AppToken is the xapp- token; when set, Socket Mode runs (SLACK_APP_TOKEN).
	AppToken string
	// UrgentMention is who an urgent card mentions: a user group id
	// ("S0123ABCD" becomes <!subteam^S0123ABCD>) or "here"/"channel".
	UrgentMention string
	// LeadMention is who an escalation reminder mentions, in the same form.
	LeadMention string
	// EscalateAfter is how long a case may stay unclaimed before the lead
	// group is reminded (30 minutes by default).
	EscalateAfter time.Duration
	// EscalateUrgentAfter is the same for urgent cases (5 minutes by default).
	EscalateUrgentAfter time.Duration
	// ShowStaffNames makes residents see the staff member's display name
	// after the role ("相談員 田中"); off by default.
	ShowStaffNames bool
	// KeyPrefix namespaces every Redis key ("tsunagu:" by default).
	KeyPrefix string
	// ChannelInterval is the least time between two posts to one channel
	// (1 second by default, Slack's guidance for chat.postMessage).
	ChannelInterval time.Duration
	// FollowUps are the check-in delays offered on the card (1日, 3日, 1週間
	// by default); a check-in lands at the next business hour after the delay.
	FollowUps []FollowUp
	// PollInterval is how often due escalations and check-ins are looked
	// for, and how long a worker blocks on an empty queue (1 second by default).
	PollInterval time.Duration
	// ClaimAfter is how long queued work may stay with a silent worker before
	// another takes it over (1 minute by default).
	ClaimAfter time.Duration
	// Retention is how long a closed case, its links (to the resident and
	// from its thread) and the record of its quoting posts are kept after
	// the last change, and the longest any dedupe mark lives (30 days by
	// default, TSUNAGU_RETENTION).
	Retention time.Duration
	// MessageTTL is how long the link from a resident's LINE message to its
	// line in a case thread is kept, so that an unsend finds it, and which
	// staff replies reached the resident, so that an edit is answered: the
	// session retention (30 days by default, TSUNAGU_RETENTION).
	MessageTTL time.Duration
	// AuthCheckInterval is how often auth.test is repeated once it passed,
	// for Ready (1 minute by default).
	AuthCheckInterval time.Duration
	// OpenCaseMax is how long an open case is kept after its last activity
	// (a change, a relay, a staff reply); shortly before it expires its
	// thread is told (180 days by default, TSUNAGU_OPEN_CASE_MAX).
	OpenCaseMax time.Duration
	// KeepSlackRecord leaves Slack as it is when a resident erases their
	// data, for a city whose own rules keep the staff's record
	// (TSUNAGU_ERASE_SLACK=false): the card keeps their words, and the
	// case record they are drawn from keeps them until it expires. By
	// default every post that quoted them is rewritten.
	KeepSlackRecord bool
	// Now is the clock; tests move it into or out of business hours.
	Now func() time.Time

	// attempts bounds the tries of queued work after temporary failures
	// (maxAttempts) and retryPause is the pause before the nth retry
	// (backoff); tests shorten them.
	attempts   int
	retryPause func(n int) time.Duration
}

// FollowUp is one check-in choice on the card.
type FollowUp struct {
	// Label is what the option says ("3日後").
	Label string
	// After is the delay from the moment staff choose it.
	After time.Duration
}

func (c Config) withDefaults() Config {
	if c.APIBaseURL == "" {
		c.APIBaseURL = "https://slack.com/api/"
	}
	if c.EscalateAfter == 0 {
		c.EscalateAfter = 30 * time.Minute
	}
	if c.EscalateUrgentAfter == 0 {
		c.EscalateUrgentAfter = 5 * time.Minute
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "tsunagu:"
	}
	if c.ChannelInterval == 0 {
		c.ChannelInterval = time.Second
	}
	if len(c.FollowUps) == 0 {
		c.FollowUps = []FollowUp{
			{Label: "1日後", After: 24 * time.Hour},
			{Label: "3日後", After: 72 * time.Hour},
			{Label: "1週間後", After: 7 * 24 * time.Hour},
		}
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.ClaimAfter == 0 {
		c.ClaimAfter = time.Minute
	}
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.OpenCaseMax == 0 {
		c.OpenCaseMax = 180 * 24 * time.Hour
	}
	if c.MessageTTL == 0 {
		c.MessageTTL = c.Retention
	}
	if c.AuthCheckInterval == 0 {
		c.AuthCheckInterval = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.attempts == 0 {
		c.attempts = maxAttempts
	}
	if c.retryPause == nil {
		c.retryPause = backoff
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.BotToken == "" {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is required"))
	}
	if c.SigningSecret == "" && c.AppToken == "" {
		errs = append(errs, errors.New("SLACK_SIGNING_SECRET is required (or SLACK_APP_TOKEN for Socket Mode)"))
	}
	return errors.Join(errs...)
}

// mention renders a configured mention target as Slack markup.
func mention(target string) string {
	switch target {
	case "":
		return ""
	case "here", "channel", "everyone":
		return "<!" + target + ">"
	}
	if target[0] == 'U' || target[0] == 'W' {
		return "<@" + target + ">"
	}
	return "<!subteam^" + target + ">"
}
