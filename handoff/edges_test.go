package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// withLINE makes the harness's staff replies go through bot's real LINE
// sender to a fake LINE API.
func (h *harness) withLINE() *linefake.Server {
	h.t.Helper()
	line := linefake.New(h.t)
	sender, err := bot.NewLINE(bot.LINEOptions{Token: linefake.Token, BaseURL: line.URL, Backoff: time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc.push = sender
	return line
}

// reactions lists the reactions added to one message.
func (h *harness) reactions(channel, ts string) []string {
	var out []string
	for _, c := range h.fake.Calls("reactions.add") {
		if c.Form.Get("channel") == channel && c.Form.Get("timestamp") == ts {
			out = append(out, c.Form.Get("name"))
		}
	}
	return out
}

// lastStaffTS is the ts of the last message a staff member wrote.
func (h *harness) lastStaffTS() string {
	ms := h.fake.Messages()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].User != slackfake.BotUserID {
			return ms[i].TS
		}
	}
	return ""
}

// A staff reply of 3,000 emoji reaches the resident whole, in two bubbles.
func TestEmojiReplySplit(t *testing.T) {
	h := newHarness(t, nil)
	line := h.withLINE()
	c := h.open(general, "k1")
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: strings.Repeat("😀", 3000)})
	h.eventually("the push", func() bool { return len(line.Sent()) == 1 })
	p := line.Sent()[0]
	if len(p.Messages) != 2 || strings.Count(strings.Join(p.Texts(), ""), "😀") != 3000 {
		t.Errorf("pushed %d bubbles with %d emoji, want 2 with 3000", len(p.Messages), strings.Count(strings.Join(p.Texts(), ""), "😀"))
	}
	ts := h.lastStaffTS()
	h.eventually("the tick", func() bool { return len(h.reactions(c.Home.Channel, ts)) == 1 })
	if r := h.reactions(c.Home.Channel, ts); r[0] != "white_check_mark" {
		t.Errorf("reactions %q, want the tick", r)
	}
}

// A reply longer than five bubbles sends five and says in the thread that
// the rest was not sent.
func TestOverlongReplyReported(t *testing.T) {
	h := newHarness(t, nil)
	line := h.withLINE()
	c := h.open(general, "k1")
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: strings.Repeat("長い説明です。", 4000)})
	h.eventually("the cut noted", func() bool { return anyContains(h.threadTexts(c.Home), "残り") })
	if p := line.Sent(); len(p) != 1 || len(p[0].Messages) != 5 {
		t.Fatalf("pushes %d, want one of five bubbles", len(p))
	}
}

// LINE refusing a reply (400) is reported at once: a warning on the staff
// message and the reason in the thread, with no retry.
func TestRefusedReplyReportedAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	line := h.withLINE()
	c := h.open(general, "k1")
	line.Fail(linefake.PathPush, http.StatusBadRequest)
	start := time.Now()
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "お電話ください"})
	ts := h.lastStaffTS()
	h.eventually("the refusal in the thread", func() bool { return anyContains(h.threadTexts(c.Home), "LINE が受け付けませんでした") })
	took := time.Since(start)
	if r := h.reactions(c.Home.Channel, ts); len(r) != 1 || r[0] != "warning" {
		t.Errorf("reactions on the refused reply %q, want only the warning", r)
	}
	if !anyContains(h.threadTexts(c.Home), "status 400: Bad Request") {
		t.Errorf("thread %q does not say why in LINE's words", h.threadTexts(c.Home))
	}
	h.drained()
	if n := len(line.Calls(linefake.PathPush)); n != 1 {
		t.Errorf("%d push calls, want 1 (a refusal is not retried)", n)
	}
	t.Logf("refusal reported in %v", took)
}

// Temporary failures are retried; when the retries give up, the thread is
// told. The retry pauses are the service's, shortened here.
func TestGivenUpReplyReported(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.attempts = 3
		c.retryPause = func(int) time.Duration { return 0 }
	})
	line := h.withLINE()
	c := h.open(general, "k1")
	// Each try is four calls (the sender's own retries) answered 503.
	line.Fail(linefake.PathPush, slicesRepeat(http.StatusServiceUnavailable, 12)...)
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "届きますか"})
	ts := h.lastStaffTS()
	h.eventually("the thread told", func() bool { return anyContains(h.threadTexts(c.Home), "何度か送り直しましたが") })
	if r := h.reactions(c.Home.Channel, ts); len(r) != 1 || r[0] != "warning" {
		t.Errorf("reactions %q, want the warning", r)
	}
	if n := len(line.Sent()); n != 0 {
		t.Errorf("%d pushes accepted, want none", n)
	}
}

func slicesRepeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// The case id of a staff reply's failure reaches the log.
func TestCaseOfFailure(t *testing.T) {
	err := caseError{"AB12C", errors.New("boom")}
	if got := caseOf(task{Kind: kindEvent}, err); got != "AB12C" {
		t.Errorf("caseOf = %q", got)
	}
	if got := caseOf(task{Kind: kindRelay, Case: "ZZ99Z"}, err); got != "ZZ99Z" {
		t.Errorf("caseOf = %q", got)
	}
}

// editEvent is a message_changed or message_deleted event for a message in
// a thread.
func editEvent(eventID, channel, thread, ts, user, before, after string) string {
	prev := map[string]any{"type": "message", "user": user, "text": before, "ts": ts, "thread_ts": thread}
	inner := map[string]any{"type": "message", "channel": channel, "ts": "1800009999.000001", "event_ts": "1800009999.000001",
		"channel_type": "channel", "previous_message": prev, "hidden": true}
	if after == "" {
		inner["subtype"] = "message_deleted"
		inner["deleted_ts"] = ts
	} else {
		inner["subtype"] = "message_changed"
		inner["message"] = map[string]any{"type": "message", "user": user, "text": after, "ts": ts, "thread_ts": thread,
			"edited": map[string]any{"user": user, "ts": "1800009999.000001"}}
	}
	b, _ := json.Marshal(map[string]any{"token": "x", "team_id": "T0000001", "api_app_id": "A0000001",
		"type": "event_callback", "event_id": eventID, "event_time": 1800000000, "event": inner})
	return string(b)
}

// Editing or deleting a reply the resident already has is answered in the
// thread; notes, unchanged text and replies that never went out are not.
func TestStaffEditsAndDeletes(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "明日の10時に伺います"})
	h.eventually("the reply relayed", func() bool { return anyPushContains(h.push.pushes(), "明日の10時") })
	sent := h.lastStaffTS()
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "メモ: 上司に確認"})
	note := h.lastStaffTS()
	h.drained()
	notices := func() int {
		n := 0
		for _, t := range h.threadTexts(c.Home) {
			if strings.Contains(t, "相談者に届きません") {
				n++
			}
		}
		return n
	}
	events := []struct {
		name, body string
		notice     bool
	}{
		{"edit of a relayed reply", editEvent("EvEDIT1", c.Home.Channel, c.Home.TS, sent, "U0STAFF1", "明日の10時に伺います", "明日の11時に伺います"), true},
		{"unfurl (same text)", editEvent("EvEDIT2", c.Home.Channel, c.Home.TS, sent, "U0STAFF1", "明日の10時に伺います", "明日の10時に伺います"), false},
		{"edit of a note", editEvent("EvEDIT3", c.Home.Channel, c.Home.TS, note, "U0STAFF1", "メモ: 上司に確認", "メモ: 課長に確認"), false},
		{"edit of the bot's own post", editEvent("EvEDIT4", c.Home.Channel, c.Home.TS, "1700000000.000002", slackfake.BotUserID, "a", "b"), false},
		{"delete of a relayed reply", editEvent("EvEDIT5", c.Home.Channel, c.Home.TS, sent, "U0STAFF1", "明日の10時に伺います", ""), true},
	}
	want := 0
	for _, e := range events {
		if w := serve(h.ev, signed("/slack/events", e.body, time.Now(), secret)); w.Code != http.StatusOK {
			t.Fatalf("%s: answered %d", e.name, w.Code)
		}
		h.drained()
		if e.notice {
			want++
		}
		if got := notices(); got != want {
			t.Errorf("%s: %d notices, want %d", e.name, got, want)
		}
	}
	if !anyContains(h.threadTexts(c.Home), "削除は相談者に届きません") || !anyContains(h.threadTexts(c.Home), "編集は相談者に届きません") {
		t.Errorf("thread %q lacks the edit and delete notices", h.threadTexts(c.Home))
	}
	if n := len(h.push.pushes()); n != 1 {
		t.Errorf("%d pushes, want only the original reply", n)
	}
}

// A member mentioned in a reply reads as their display name, or 「担当者」.
func TestMentionsBecomeNames(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.AddUser(slackfake.User{ID: "U0LAN0Z89", DisplayName: "田中", RealName: "Tanaka Taro"})
	c := h.open(general, "k1")
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "<@U0LAN0Z89> さんと伺います"})
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "<@U0NOBODY1> さんと伺います"})
	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "<@U0LAN0Z89> がお電話します"})
	h.eventually("three replies", func() bool { return len(h.push.pushes()) == 3 })
	got := []string{}
	for _, p := range h.push.pushes() {
		got = append(got, p.Texts[0])
	}
	for i, want := range []string{"田中 さんと伺います", "担当者 さんと伺います", "田中 がお電話します"} {
		if !strings.HasSuffix(got[i], want) {
			t.Errorf("reply %d reached the resident as %q, want …%q", i, got[i], want)
		}
	}
	asked := 0
	for _, c := range h.fake.Calls("users.info") {
		if c.Form.Get("user") == "U0LAN0Z89" {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("users.info asked %d times for one member, want 1 (cached)", asked)
	}
}

// An empty permalink from Slack falls back to the built link.
func TestEmptyPermalinkFallsBack(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.EmptyPermalinks()
	c := h.open(general, "k1")
	want := "https://slack.com/archives/" + c.Home.Channel + "/p" + strings.ReplaceAll(c.Home.TS, ".", "")
	if c.Home.Permalink != want {
		t.Errorf("permalink %q, want %q", c.Home.Permalink, want)
	}
}

// A resident's unsend replaces their words in the thread with the notice,
// and only theirs.
func TestUnsendReplacesTheLine(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	ctx := context.Background()
	if err := h.svc.Relay(ctx, c.ID, "ev-1", []string{"ひみつのはなし", "ほかのはなし"}, []string{"m-1", "m-2"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the relay", func() bool { return anyContains(h.threadTexts(c.Home), "ひみつのはなし") })
	if err := h.svc.Unsend(ctx, c.ID, "m-1", "ev-2"); err != nil {
		t.Fatal(err)
	}
	h.eventually("the words withdrawn", func() bool { return !anyContains(h.threadTexts(c.Home), "ひみつのはなし") })
	if !anyContains(h.threadTexts(c.Home), unsentText) || !anyContains(h.threadTexts(c.Home), "ほかのはなし") {
		t.Errorf("thread after the unsend: %q", h.threadTexts(c.Home))
	}
	// Nothing of the words is kept for later either.
	for f, v := range h.rdb.HGetAll(ctx, h.svc.st.relayedKey(c.ID)).Val() {
		if strings.Contains(v, "ひみつ") {
			t.Errorf("%s still holds the words", f)
		}
	}
	if ttl := h.rdb.TTL(ctx, h.svc.st.relayedKey(c.ID)).Val(); ttl <= 0 || ttl > 30*24*time.Hour {
		t.Errorf("what an unsend needs is kept for %v, want the session retention", ttl)
	}
	// An unknown message id changes nothing.
	if err := h.svc.Unsend(ctx, c.ID, "m-unknown", "ev-3"); err != nil {
		t.Fatal(err)
	}
	h.drained()
	// An erasure deletes what was kept for an unsend.
	if err := h.svc.Forget(ctx, c.ID, "erase-1"); err != nil {
		t.Fatal(err)
	}
	h.drained()
	if n := h.rdb.Exists(ctx, h.svc.st.relayedKey(c.ID)).Val(); n != 0 {
		t.Error("the relay posts kept for an unsend outlived the erasure")
	}
}
