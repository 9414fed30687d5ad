package handoff

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/slack-go/slack/socketmode"
)

func TestIsNote(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"note: 確認", true},
		{"Note:確認", true},
		{"NOTE : 確認", true},
		{"ｎｏｔｅ：確認", true},
		{"メモ:次回", true},
		{"メモ：次回", true},
		{"ﾒﾓ:次回", true},
		{"*メモ:* 次回", true},
		{"_note:_ x", true},
		{"  note: x", true},
		{"notes are fine", false},
		{"メモしておいてください", false},
		{"このメモ: は本文", false},
		{"お元気ですか", false},
	}
	for _, tt := range tests {
		if got := isNote(tt.text); got != tt.want {
			t.Errorf("isNote(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"こんにちは", "こんにちは"},
		{"A &amp; B &lt;3 &gt;", "A & B <3 >"},
		{"<https://city.example.jp|市のページ>", "市のページ (https://city.example.jp)"},
		{"<https://city.example.jp>", "https://city.example.jp"},
		{"<mailto:soudan@city.example.jp|soudan@city.example.jp>", "soudan@city.example.jp"},
		{"<@U0TANAKA> さんと一緒に伺います", "田中 さんと一緒に伺います"},
		{"<@U0LAN0Z89> さんと…", "担当者 さんと…"},
		{"<!here> 至急", "至急"},
		{"<#C0000001|soudan-general> を見て", "#soudan-general を見て"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in, func(u string) string {
			if u == "U0TANAKA" {
				return "田中"
			}
			return "担当者"
		}); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCaseIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := range 2000 {
		id := caseIDFor(fmt.Sprint("01JEVENT", i, ":open:0"), 0)
		if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}$`).MatchString(id) {
			t.Fatalf("case id %q is not 5 Crockford characters", id)
		}
		if id != caseIDFor(fmt.Sprint("01JEVENT", i, ":open:0"), 0) {
			t.Fatalf("case id of a key is not stable")
		}
		seen[id] = true
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct ids in 2000", len(seen))
	}
	if caseIDFor("", 0) == caseIDFor("", 0) {
		t.Error("ids without a key are not random")
	}
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"7kq3m", "7KQ3M", true},
		{"7KQ-3M", "7KQ3M", true},
		{"O1L2I", "01121", true},
		{"7KQ3", "", false},
		{"7KQ3U", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeCaseID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeCaseID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"here", "<!here>"},
		{"S0123ABCD", "<!subteam^S0123ABCD>"},
		{"U0123ABCD", "<@U0123ABCD>"},
	}
	for _, tt := range tests {
		if got := mention(tt.in); got != tt.want {
			t.Errorf("mention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEscapeKeepsResidentTextInert(t *testing.T) {
	if got := quote("<!channel> a&b\n2行目"); got != "> &lt;!channel&gt; a&amp;b\n> 2行目" {
		t.Errorf("quote = %q", got)
	}
}

// Socket Mode goes through the same intake: a payload is acknowledged only
// once it is stored, and processed like an HTTP one.
func TestSocketModeEvent(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	body := eventBody(msg{EventID: "Ev0SOCK01", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "ソケット経由"}, "1800000001.000001")
	tests := []struct {
		name string
		evt  socketmode.Event
		ack  bool
	}{
		{"events api", socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: &socketmode.Request{Type: "events_api", EnvelopeID: "e1", Payload: []byte(body)}}, true},
		{"retry of the same event", socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: &socketmode.Request{Type: "events_api", EnvelopeID: "e2", Payload: []byte(body), RetryAttempt: 1}}, true},
		{"connection event", socketmode.Event{Type: socketmode.EventTypeConnected}, false},
	}
	for _, tt := range tests {
		if got := h.svc.socketEvent(context.Background(), tt.evt); got != tt.ack {
			t.Errorf("%s: ack = %v, want %v", tt.name, got, tt.ack)
		}
	}
	h.eventually("push", func() bool { return anyPushContains(h.push.pushes(), "ソケット経由") })
	if n := len(h.push.pushes()); n != 1 {
		t.Errorf("%d pushes, want 1", n)
	}
}
