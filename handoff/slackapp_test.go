package handoff

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// slackManifest is the part of a Slack app manifest the service depends on.
type slackManifest struct {
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
	} `yaml:"settings"`
}

// methodScopes is the bot scope each Slack Web API method the service may
// call needs ("" for none), from Slack's method reference.
var methodScopes = map[string]string{
	"auth.test":             "",
	"chat.postMessage":      "chat:write",
	"chat.update":           "chat:write",
	"chat.getPermalink":     "",
	"reactions.add":         "reactions:write",
	"users.info":            "users:read",
	"apps.connections.open": "", // Socket Mode, with the app-level token
}

// eventScopes is the scope each bot event needs to be delivered.
var eventScopes = map[string]string{
	"message.channels": "channels:history",
	"message.groups":   "groups:history",
}

// TestSlackManifestMatchesCode: the manifest a city creates its app from
// grants exactly the scopes and subscribes exactly the events the code
// declares, and points Slack at the service's two routes.
func TestSlackManifestMatchesCode(t *testing.T) {
	b, err := os.ReadFile("../deploy/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m slackManifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("deploy/slack-app-manifest.yaml: %v", err)
	}
	same := func(what string, manifest, code []string) {
		for _, s := range code {
			if !slices.Contains(manifest, s) {
				t.Errorf("%s: the code needs %q, the manifest lacks it", what, s)
			}
		}
		for _, s := range manifest {
			if !slices.Contains(code, s) {
				t.Errorf("%s: the manifest asks for %q, which the code does not declare: drop it or declare it", what, s)
			}
		}
	}
	same("bot scopes", m.OAuth.Scopes.Bot, BotScopes)
	same("bot events", m.Settings.Events.BotEvents, BotEvents)
	if !strings.HasSuffix(m.Settings.Events.RequestURL, "/slack/events") {
		t.Errorf("events request_url %q: the service takes events at /slack/events", m.Settings.Events.RequestURL)
	}
	if !m.Settings.Interactivity.Enabled || !strings.HasSuffix(m.Settings.Interactivity.RequestURL, "/slack/interactions") {
		t.Errorf("interactivity %+v: the card's buttons need it on, at /slack/interactions", m.Settings.Interactivity)
	}
}

// TestBotScopesAreWhatTheCodeUses runs a case through its life (card, a
// staff reply ticked, a claim shown with the staff member's name, a
// transfer, a close) and checks both ways that the declared scopes are
// those the Web API calls made and the events subscribed need.
func TestBotScopesAreWhatTheCodeUses(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ShowStaffNames = true })
	h.fake.AddUser(slackfake.User{ID: "U0TANAKA", DisplayName: "田中"})
	h.fake.AddUser(slackfake.User{ID: "U0STAFF1", RealName: "佐藤"})
	c := h.open(general, "scopes-1")
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "はじめまして"})
	h.eventually("the reply ticked", func() bool { return len(h.fake.Calls("reactions.add")) == 1 })
	h.press(c, "U0TANAKA", map[string]any{"action_id": actClaim, "type": "button", "value": c.ID})
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "担当の田中です", User: "U0TANAKA"})
	h.eventually("two replies pushed", func() bool { return len(h.push.pushes()) == 2 })
	if p := h.push.pushes()[1]; !strings.Contains(strings.Join(p.Texts, ""), "田中") {
		t.Errorf("the claimed reply does not name the staff member: %q", p.Texts)
	}
	h.press(c, "U0TANAKA", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.drained()

	need := map[string]bool{}
	for _, call := range h.fake.Calls("") {
		scope, known := methodScopes[call.Method]
		if !known {
			t.Errorf("the code calls %s: add its scope to methodScopes and, if it needs one, to BotScopes", call.Method)
			continue
		}
		if scope != "" {
			need[scope] = true
		}
	}
	for _, ev := range BotEvents {
		s, ok := eventScopes[ev]
		if !ok {
			t.Errorf("event %s declared without a known scope", ev)
		}
		need[s] = true
	}
	for s := range need {
		if !slices.Contains(BotScopes, s) {
			t.Errorf("scope %s is needed (by a call made or an event) but not in BotScopes", s)
		}
	}
	for _, s := range BotScopes {
		if !need[s] {
			t.Errorf("BotScopes has %s, which nothing made in this case's life needed", s)
		}
	}
}
