package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	base := map[string]string{
		"LINE_CHANNEL_SECRET":       "s",
		"LINE_CHANNEL_ACCESS_TOKEN": "t",
		"SLACK_BOT_TOKEN":           "xoxb-t",
		"SLACK_SIGNING_SECRET":      "ss",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings, all must appear
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", env: base, check: func(t *testing.T, c Config) {
			d := Defaults()
			if c.Addr != ":8080" || c.RedisURL != "redis://127.0.0.1:6379/0" || c.LineAPIBaseURL != "https://api.line.me" {
				t.Errorf("defaults not applied: %+v", c)
			}
			if c.Retention != 30*24*time.Hour || c.Shards != d.Shards || c.LogFormat != "json" || c.FlowPath != "" ||
				c.ResidentLimit != 12 || c.BodyBudget != 32<<20 || c.HTTPIdleTimeout != time.Minute {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{name: "missing secrets", env: map[string]string{}, wantErr: []string{"LINE_CHANNEL_SECRET is required", "LINE_CHANNEL_ACCESS_TOKEN is required"}},
		{name: "overrides", env: with("ADDR", "127.0.0.1:9", "TSUNAGU_SHARDS", "8", "TSUNAGU_RETENTION", "48h",
			"TSUNAGU_FLOW", "/etc/flow", "LOG_FORMAT", "text", "LINE_API_BASE_URL", "http://127.0.0.1:1",
			"TSUNAGU_RESIDENT_LIMIT", "0", "TSUNAGU_RESIDENT_PER", "10s", "TSUNAGU_BODY_BUDGET_MB", "8",
			"TSUNAGU_HTTP_READ_TIMEOUT", "2s", "TSUNAGU_HTTP_IDLE_TIMEOUT", "5s", "TSUNAGU_LINE_SENDERS", "16"),
			check: func(t *testing.T, c Config) {
				if c.Addr != "127.0.0.1:9" || c.Shards != 8 || c.Retention != 48*time.Hour || c.FlowPath != "/etc/flow" ||
					c.LogFormat != "text" || c.LineAPIBaseURL != "http://127.0.0.1:1" || c.ResidentLimit != 0 ||
					c.ResidentPer != 10*time.Second || c.BodyBudget != 8<<20 || c.HTTPReadTimeout != 2*time.Second ||
					c.HTTPIdleTimeout != 5*time.Second || c.LineSenders != 16 {
					t.Errorf("overrides not applied: %+v", c)
				}
			}},
		{name: "bad shards", env: with("TSUNAGU_SHARDS", "zero"), wantErr: []string{"TSUNAGU_SHARDS"}},
		{name: "zero shards", env: with("TSUNAGU_SHARDS", "0"), wantErr: []string{"TSUNAGU_SHARDS"}},
		{name: "no body budget", env: with("TSUNAGU_BODY_BUDGET_MB", "0"), wantErr: []string{"TSUNAGU_BODY_BUDGET_MB"}},
		{name: "bad retention", env: with("TSUNAGU_RETENTION", "30 days"), wantErr: []string{"TSUNAGU_RETENTION"}},
		{name: "bad log format", env: with("LOG_FORMAT", "xml"), wantErr: []string{"LOG_FORMAT"}},
		{name: "bad base url", env: with("LINE_API_BASE_URL", "api.line.me"), wantErr: []string{"LINE_API_BASE_URL"}},
		{name: "slack required", env: with("SLACK_BOT_TOKEN", "", "SLACK_SIGNING_SECRET", ""),
			wantErr: []string{"SLACK_BOT_TOKEN is required", "SLACK_SIGNING_SECRET is required (or SLACK_APP_TOKEN"}},
		{name: "socket mode needs no signing secret", env: with("SLACK_SIGNING_SECRET", "", "SLACK_APP_TOKEN", "xapp-1-A0123ABCD-1234567890-abc123",
			"SLACK_ESCALATE_AFTER", "10m", "SLACK_SHOW_STAFF_NAMES", "true", "SLACK_API_BASE_URL", "http://127.0.0.1:1/api"),
			check: func(t *testing.T, c Config) {
				if c.SlackAppToken != "xapp-1-A0123ABCD-1234567890-abc123" || c.SlackEscalateAfter != 10*time.Minute || !c.SlackShowStaffNames ||
					c.SlackAPIBaseURL != "http://127.0.0.1:1/api/" {
					t.Errorf("slack settings not applied: %+v", c)
				}
			}},
		{name: "mentions that notify someone", env: with("SLACK_URGENT_MENTION", "S0123ABCD", "SLACK_LEAD_MENTION", "U0123ABCD"),
			check: func(t *testing.T, c Config) {
				if c.SlackUrgentMention != "S0123ABCD" || c.SlackLeadMention != "U0123ABCD" {
					t.Errorf("mentions not applied: %+v", c)
				}
			}},
		{name: "enterprise user and channel", env: with("SLACK_URGENT_MENTION", "W0123ABCD", "SLACK_LEAD_MENTION", "channel"),
			check: func(t *testing.T, c Config) {}},
		{name: "display name mentions no one", env: with("SLACK_URGENT_MENTION", "@tanaka"),
			wantErr: []string{`SLACK_URGENT_MENTION="@tanaka": it would notify no one`, "member or group id"}},
		{name: "at-here", env: with("SLACK_LEAD_MENTION", "@here"), wantErr: []string{`SLACK_LEAD_MENTION="@here"`, "write here, without the @"}},
		{name: "slack markup", env: with("SLACK_URGENT_MENTION", "<!subteam^S0123ABCD>"), wantErr: []string{"bare id"}},
		{name: "lower-case id", env: with("SLACK_URGENT_MENTION", "s0123abcd"), wantErr: []string{"SLACK_URGENT_MENTION"}},
		{name: "user token", env: with("SLACK_BOT_TOKEN", "xoxp-123-456-secretpart"),
			wantErr: []string{`SLACK_BOT_TOKEN="xoxp-…": want the app's bot token (xoxb-`}},
		{name: "malformed app token", env: with("SLACK_APP_TOKEN", "xapp-broken"), wantErr: []string{`SLACK_APP_TOKEN="xapp-…": want an app-level token`}},
		{name: "bot token in the app slot", env: with("SLACK_APP_TOKEN", "xoxb-1-2"), wantErr: []string{"SLACK_APP_TOKEN"}},
		{name: "bad slack url", env: with("SLACK_API_BASE_URL", "slack.com/api"), wantErr: []string{"SLACK_API_BASE_URL"}},
		{name: "url without host", env: with("LINE_API_BASE_URL", "https://"), wantErr: []string{"LINE_API_BASE_URL"}},
		{name: "all problems at once", env: with("SLACK_BOT_TOKEN", "xoxp-1", "SLACK_URGENT_MENTION", "tanaka",
			"SLACK_APP_TOKEN", "nope", "TSUNAGU_SHARDS", "x", "LINE_CHANNEL_SECRET", ""),
			wantErr: []string{"SLACK_BOT_TOKEN", "SLACK_URGENT_MENTION", "SLACK_APP_TOKEN", "TSUNAGU_SHARDS", "LINE_CHANNEL_SECRET"}},
		{name: "bad staff names flag", env: with("SLACK_SHOW_STAFF_NAMES", "maybe"), wantErr: []string{"SLACK_SHOW_STAFF_NAMES"}},
		{name: "bad redis url hides password", env: with("REDIS_URL", "mysql://user:hunter2@db:1/0"), wantErr: []string{"REDIS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("FromEnv: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("FromEnv: no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "secretpart") {
				t.Errorf("error leaks the Redis password: %q", err)
			}
		})
	}
}

func TestRedisOptions(t *testing.T) {
	tests := []struct {
		url, addr string
		db        int
	}{
		{"redis://127.0.0.1:6379/0", "127.0.0.1:6379", 0},
		{"redis://:pw@example:7000/3", "example:7000", 3},
		{"unix:///tmp/redis.sock?db=2", "/tmp/redis.sock", 2},
	}
	for _, tt := range tests {
		c := Defaults()
		c.RedisURL = tt.url
		o, err := c.RedisOptions()
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if o.Addrs[0] != tt.addr || o.DB != tt.db {
			t.Errorf("%s: got %v db %d", tt.url, o.Addrs, o.DB)
		}
		if strings.HasPrefix(tt.url, "unix") != (o.Dialer != nil) {
			t.Errorf("%s: dialer set = %v", tt.url, o.Dialer != nil)
		}
	}
}

func TestFromEnvFor(t *testing.T) {
	c, err := FromEnvFor(env(map[string]string{"REDIS_URL": "redis://10.0.0.5:6379/2", "TSUNAGU_KEY_PREFIX": "city:"}))
	if err != nil {
		t.Fatalf("a tool that needs no secret: %v", err)
	}
	if c.RedisURL != "redis://10.0.0.5:6379/2" || c.KeyPrefix != "city:" {
		t.Errorf("got %q %q", c.RedisURL, c.KeyPrefix)
	}
	_, err = FromEnvFor(env(map[string]string{"LOG_FORMAT": "xml"}), "LINE_CHANNEL_ACCESS_TOKEN")
	if err == nil || !strings.Contains(err.Error(), "LINE_CHANNEL_ACCESS_TOKEN is required") || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Errorf("needed secret and a bad setting: %v", err)
	}
	if strings.Contains(err.Error(), "SLACK") || strings.Contains(err.Error(), "LINE_CHANNEL_SECRET") {
		t.Errorf("settings the tool does not need were required: %v", err)
	}
}
