package handoff

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

var general = flows.Handoff{Categories: []string{"general"}, Locale: "ja",
	Said: []string{"人と話したい"}, Chose: []string{"うまく言えない"}}

// The whole loop: a card for the case, a staff reply reaching the resident,
// a note staying internal, the resident's next words in the same thread.
func TestFullLoop(t *testing.T) {
	h := newHarness(t, nil)
	start := time.Now()
	c := h.open(general, "line-ev-1")
	if time.Since(start) > time.Second {
		t.Errorf("card took %v, want under a second", time.Since(start))
	}
	if c.Home == nil || c.Home.Channel != h.fake.ChannelID("#general") {
		t.Fatalf("card not in #general: %+v", c.Home)
	}
	card := h.card(c.Home)
	for _, want := range []string{"相談 " + c.ID, "よろず", "日本語", "人と話したい", "うまく言えない", "未対応", "[担当する]", "[終了]", "転送 ▾", "チーム追加 ▾", "フォローアップ ▾"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "時間外") {
		t.Errorf("card in business hours says 時間外:\n%s", card)
	}

	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "はじめまして。お話を聞かせてください &amp; <https://city.example.jp/soudan|窓口の案内>"})
	h.eventually("staff reply pushed", func() bool { return len(h.push.pushes()) == 1 })
	p := h.push.pushes()[0]
	if p.User != resident {
		t.Errorf("pushed to %q", p.User)
	}
	wantText := "【相談員】\nはじめまして。お話を聞かせてください & 窓口の案内 (https://city.example.jp/soudan)"
	if len(p.Texts) != 1 || p.Texts[0] != wantText {
		t.Errorf("pushed %q, want %q", p.Texts, wantText)
	}
	if len(p.RetryKey) != 36 || p.RetryKey[14] != '5' {
		t.Errorf("retry key %q is not a v5 UUID", p.RetryKey)
	}
	h.eventually("delivery tick", func() bool { return len(h.fake.Calls("reactions.add")) == 1 })

	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "メモ：声が小さい方。ゆっくり話すこと"})
	if err := h.svc.Relay(context.Background(), c.ID, "夫のことなのですが <!channel>", "line-ev-2"); err != nil {
		t.Fatal(err)
	}
	thread := h.threadTexts(c.Home)
	if !anyContains(thread, "夫のことなのですが &lt;!channel&gt;") {
		t.Errorf("resident words not in the thread (escaped): %q", thread)
	}
	// The note was queued before the relay; give the worker its turn.
	time.Sleep(300 * time.Millisecond)
	if n := len(h.push.pushes()); n != 1 {
		t.Errorf("%d pushes, want 1 (the note must stay internal)", n)
	}
	if got := h.caseNow(c.ID).FirstReply; got.IsZero() {
		t.Error("first staff reply not recorded")
	}
}

func TestOpenIsIdempotentByKey(t *testing.T) {
	h := newHarness(t, nil)
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			for {
				id, err := h.svc.Open(context.Background(), resident, general, "same-key")
				if err == nil {
					ids[i] = id
					return
				}
				time.Sleep(20 * time.Millisecond) // another call is posting the card
			}
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("same key gave cases %v", ids)
		}
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d cards posted, want 1", n)
	}
	other := h.open(general, "other-key")
	if other.ID == ids[0] {
		t.Error("a new key gave the same case")
	}
}

func TestEventsEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	reply := eventBody(msg{EventID: "EvREPLAY", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "こんにちは"}, "1800000001.000001")
	tests := []struct {
		name string
		req  *http.Request
		code int
		body string
	}{
		{"url verification", signed("/slack/events", `{"type":"url_verification","token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`, time.Now(), secret), 200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
		{"forged signature", signed("/slack/events", reply, time.Now(), "not-the-secret"), 401, ""},
		{"ten minutes old", signed("/slack/events", reply, time.Now().Add(-10*time.Minute), secret), 401, ""},
		{"no signature", func() *http.Request {
			r := signed("/slack/events", reply, time.Now(), secret)
			r.Header.Del("X-Slack-Signature")
			return r
		}(), 401, ""},
		{"malformed", signed("/slack/events", "{not json", time.Now(), secret), 400, ""},
		{"wrong method", func() *http.Request {
			r := signed("/slack/events", "", time.Now(), secret)
			r.Method = http.MethodGet
			return r
		}(), 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h.ev, tt.req)
			if w.Code != tt.code {
				t.Fatalf("got %d, want %d (%s)", w.Code, tt.code, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.push.pushes()); n != 0 {
		t.Errorf("refused requests caused %d pushes", n)
	}
	forged := signed("/slack/interactions", "payload=%7B%7D", time.Now(), "not-the-secret")
	if w := serve(h.ix, forged); w.Code != 401 {
		t.Errorf("forged interaction got %d, want 401", w.Code)
	}
	stale := signed("/slack/interactions", "payload=%7B%7D", time.Now().Add(-10*time.Minute), secret)
	if w := serve(h.ix, stale); w.Code != 401 {
		t.Errorf("10-minute-old interaction got %d, want 401", w.Code)
	}
}

// Slack retries an event it thinks was not acknowledged, with the same
// event_id and X-Slack-Retry-Num; the resident must get it once.
func TestSlackRetriesDoNotDoubleSend(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	body := eventBody(msg{EventID: "Ev0RETRY", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "大丈夫ですよ"}, "1800000001.000001")
	for i := range 3 {
		r := signed("/slack/events", body, time.Now(), secret)
		if i > 0 {
			r.Header.Set("X-Slack-Retry-Num", string(rune('0'+i)))
			r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if w := serve(h.ev, r); w.Code != 200 {
			t.Fatalf("delivery %d got %d", i, w.Code)
		}
	}
	h.eventually("push", func() bool { return len(h.push.pushes()) >= 1 })
	time.Sleep(300 * time.Millisecond)
	if n, d := len(h.push.pushes()), h.push.dupes; n != 1 || d != 0 {
		t.Errorf("%d pushes and %d duplicate attempts, want 1 and 0", n, d)
	}
}

// What staff write in a thread that must never reach the resident, and
// what must.
func TestWhatIsRelayed(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	other := h.open(general, "k2")
	notCase := "1700000000.999999"
	tests := []struct {
		name  string
		m     msg
		relay bool
	}{
		{"plain reply", msg{Text: "お返事です"}, true},
		{"thread broadcast", msg{Text: "チャンネルにも", SubType: "thread_broadcast"}, true},
		{"note", msg{Text: "note: 家族構成を確認"}, false},
		{"NOTE upper case", msg{Text: "NOTE: 確認"}, false},
		{"full-width note", msg{Text: "ｎｏｔｅ：確認"}, false},
		{"memo full-width colon", msg{Text: "メモ：次回は月曜"}, false},
		{"memo half-width kana", msg{Text: "ﾒﾓ: 次回"}, false},
		{"bold note", msg{Text: "*メモ:* 次回"}, false},
		{"note with space", msg{Text: "  note : x"}, false},
		{"our own bot", msg{Text: "bot post", User: "UBOT0001"}, false},
		{"another bot", msg{Text: "bot post", BotID: "B0OTHER"}, false},
		{"bot_message subtype", msg{Text: "bot post", SubType: "bot_message"}, false},
		{"edit", msg{Text: "edited", SubType: "message_changed"}, false},
		{"delete", msg{Text: "", SubType: "message_deleted"}, false},
		{"top-level message", msg{Text: "not in a thread", ThreadTS: "-"}, false},
		{"thread that is not a case", msg{Text: "hello", ThreadTS: notCase}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.Channel = c.Home.Channel
			if m.ThreadTS == "" {
				m.ThreadTS = c.Home.TS
			}
			if m.ThreadTS == "-" {
				m.ThreadTS = ""
			}
			m.Text += " #" + string(rune('A'+i))
			before := len(h.push.pushes())
			h.staff(m)
			// A marker message in another case shows the queue moved past this one.
			h.staff(msg{Channel: other.Home.Channel, ThreadTS: other.Home.TS, Text: "marker " + tt.name})
			h.eventually("marker", func() bool {
				return anyPushContains(h.push.pushes(), "marker "+tt.name)
			})
			got := anyPushContains(h.push.pushes()[before:], m.Text)
			if strings.HasPrefix(m.Text, "*") || tt.name == "note with space" {
				got = anyPushContains(h.push.pushes()[before:], "#"+string(rune('A'+i)))
			}
			if got != tt.relay {
				t.Errorf("relayed = %v, want %v", got, tt.relay)
			}
		})
	}
}

func anyPushContains(ps []pushed, sub string) bool {
	for _, p := range ps {
		for _, t := range p.Texts {
			if strings.Contains(t, sub) {
				return true
			}
		}
	}
	return false
}

func TestCompoundCasePostsToCoordination(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(flows.Handoff{Categories: []string{"elderly", "isolation"}, Compound: true, Patterns: []string{"8050"},
		Locale: "ja", Said: []string{"80歳の母と、ずっと家にいる50代の兄のことで"}}, "k1")
	if c.Home.Channel != h.fake.ChannelID("#elderly") {
		t.Errorf("home card in %s, want #elderly", c.Home.Channel)
	}
	coord := h.fake.ChannelID("#coordination")
	var posts []string
	for _, m := range h.fake.Messages() {
		if m.Channel == coord {
			posts = append(posts, m.Text)
		}
	}
	if len(posts) != 1 {
		t.Fatalf("%d coordination posts, want 1", len(posts))
	}
	for _, want := range []string{"複合ケース " + c.ID, "8050", "高齢・介護", "ひきこもり", c.Home.Permalink} {
		if !strings.Contains(posts[0], want) {
			t.Errorf("coordination post lacks %q: %s", want, posts[0])
		}
	}
	if c.Home.Permalink == "" || len(h.fake.Calls("chat.getPermalink")) == 0 {
		t.Error("no permalink asked for")
	}
	if !strings.Contains(h.card(c.Home), "*複合ニーズ*: 8050") {
		t.Errorf("card does not show the pattern:\n%s", h.card(c.Home))
	}
	// Opening again (a redelivered event) posts neither again.
	h.open(flows.Handoff{Categories: []string{"elderly"}}, "k1")
	if n := len(h.fake.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d posts after a repeated Open, want 2", n)
	}
}

func TestOutOfHoursCard(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Now = clockFrom(closedHour) })
	c := h.open(general, "k1")
	if !c.OutOfHours || !strings.Contains(h.card(c.Home), "時間外") {
		t.Errorf("out-of-hours case not marked:\n%s", h.card(c.Home))
	}
	// The reminder for an ordinary case counts from the next opening (Monday 08:30).
	zs, err := h.rdb.ZRangeWithScores(context.Background(), h.svc.dueKey(), 0, -1).Result()
	if err != nil || len(zs) != 1 {
		t.Fatalf("scheduled: %v %v", zs, err)
	}
	due := time.UnixMilli(int64(zs[0].Score))
	monday := time.Date(2026, 12, 7, 8, 30, 0, 0, closedHour.Location()).Add(time.Hour)
	if !due.Equal(monday) {
		t.Errorf("reminder due %v, want %v", due, monday)
	}
	// No resident-facing text is sent by handoff: the flow said it already.
	if n := len(h.push.pushes()); n != 0 {
		t.Errorf("%d pushes at handoff, want 0", n)
	}
}

func TestReopenedCaseLinksThePrevious(t *testing.T) {
	h := newHarness(t, nil)
	old := h.open(general, "k1")
	h.press(old, "U0STAFF1", map[string]any{"action_id": actClose, "value": old.ID, "type": "button"})
	h.eventually("close", func() bool { return len(h.conv.closes()) == 1 })
	again := general
	again.Reopen = old.ID
	c := h.open(again, "k2")
	card := h.card(c.Home)
	if !strings.Contains(card, "前回のケース：<"+old.Home.Permalink+"|"+old.ID+">") {
		t.Errorf("card does not link the previous case:\n%s", card)
	}
}

func TestRateLimitIsHonoured(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.RateLimit("chat.postMessage", 1, 1)
	start := time.Now()
	c := h.open(general, "k1")
	if el := time.Since(start); el < time.Second {
		t.Errorf("retried after %v, Slack said wait 1s", el)
	}
	calls := h.fake.Calls("chat.postMessage")
	if len(calls) != 2 || !calls[0].Limited || calls[1].Limited {
		t.Fatalf("calls: %d, want a limited one then a good one", len(calls))
	}
	if calls[1].At.Sub(calls[0].At) < time.Second {
		t.Errorf("second try %v after the 429, want ≥ 1s", calls[1].At.Sub(calls[0].At))
	}
	if c.Home == nil {
		t.Fatal("card lost after 429")
	}
}

func TestPostsToOneChannelArePaced(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ChannelInterval = 200 * time.Millisecond })
	c := h.open(general, "k1")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if err := h.svc.Relay(context.Background(), c.ID, "msg", "relay-"+string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	calls := h.fake.Calls("chat.postMessage")
	if len(calls) != 5 {
		t.Fatalf("%d posts, want 5 (nothing dropped)", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].At.Sub(calls[i-1].At); gap < 180*time.Millisecond {
			t.Errorf("posts %d and %d to one channel %v apart, want ≥ 200ms", i-1, i, gap)
		}
	}
}

func TestRelayIsIdempotentByKey(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	for range 2 {
		if err := h.svc.Relay(context.Background(), c.ID, "[sticker]", "line-ev-9"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.fake.Thread(c.Home.Channel, c.Home.TS)); n != 1 {
		t.Errorf("%d thread posts, want 1", n)
	}
}

func TestCrisisEscalation(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	if strings.Contains(h.card(c.Home), "🚨") {
		t.Fatal("ordinary card shows urgent")
	}
	for range 2 {
		if err := h.svc.Escalate(context.Background(), c.ID, flows.Handoff{Urgent: true, Crisis: "suicide"}, "line-ev-crisis"); err != nil {
			t.Fatal(err)
		}
	}
	card := h.card(c.Home)
	for _, want := range []string{"# 🚨 緊急 相談 " + c.ID, "<!subteam^S0URGENT>", "自殺の危険"} {
		if !strings.Contains(card, want) {
			t.Errorf("escalated card lacks %q:\n%s", want, card)
		}
	}
	thread := h.threadTexts(c.Home)
	if len(thread) != 1 || !strings.Contains(thread[0], "<!subteam^S0URGENT>") {
		t.Errorf("thread after escalation: %q", thread)
	}
}

func TestUrgentCardMentionsGroup(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(flows.Handoff{Categories: []string{"violence"}, Urgent: true, Crisis: "violence", Locale: "en", Said: []string{"my husband hits me"}}, "k1")
	card := h.card(c.Home)
	for _, want := range []string{"🚨 緊急", "<!subteam^S0URGENT>", "暴力・虐待", "English", "my husband hits me"} {
		if !strings.Contains(card, want) {
			t.Errorf("urgent card lacks %q:\n%s", want, card)
		}
	}
	if m, _ := h.fake.Message(c.Home.Channel, c.Home.TS); !strings.HasPrefix(m.Text, "<!subteam^S0URGENT>") {
		t.Errorf("notification text %q does not mention the group", m.Text)
	}
}
