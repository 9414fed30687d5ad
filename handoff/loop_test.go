package handoff

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
)

var general = flows.Handoff{Categories: []string{"general"}, Locale: "ja",
	Said: []string{"人と話したい"}, Chose: []string{"うまく言えない"}}

// The whole loop: a card for the case, a staff reply reaching the resident,
// a note staying internal, the resident's next words in the same thread.
func TestFullLoop(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "line-ev-1")
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
	if !strings.HasPrefix(p.Key, "slack-event:") {
		t.Errorf("push key %q does not name the Slack event", p.Key)
	}
	h.eventually("delivery tick", func() bool { return len(h.fake.Calls("reactions.add")) == 1 })

	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "メモ：声が小さい方。ゆっくり話すこと"})
	if err := h.svc.Relay(context.Background(), c.ID, "line-ev-2", []string{"夫のことなのですが <!channel>"}, nil); err != nil {
		t.Fatal(err)
	}
	h.eventually("the resident's words in the thread (escaped)", func() bool {
		return anyContains(h.threadTexts(c.Home), "夫のことなのですが &lt;!channel&gt;")
	})
	h.drained()
	if n := len(h.push.pushes()); n != 1 {
		t.Errorf("%d pushes, want 1 (the note must stay internal)", n)
	}
	if got := h.caseNow(c.ID).FirstReply; got.IsZero() {
		t.Error("first staff reply not recorded")
	}
}

// Open only records the case: it returns the same case for the same key,
// at once, and the queue posts one card.
func TestOpenIsIdempotentByKey(t *testing.T) {
	h := newHarness(t, nil)
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := h.svc.Open(context.Background(), resident, general, "same-key")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("same key gave cases %v", ids)
		}
	}
	h.eventually("the card", func() bool { return h.caseNow(ids[0]).Home != nil })
	h.drained()
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d cards posted, want 1", n)
	}
	other := h.open(general, "other-key")
	if other.ID == ids[0] {
		t.Error("a new key gave the same case")
	}
}

// A case id drawn for one key that another case holds is not taken: the
// next candidate is.
func TestOpenSkipsATakenID(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	taken := caseIDFor("k-collide", 0)
	h.rdb.Set(ctx, h.svc.st.caseKey(taken), `{"id":"`+taken+`","key":"someone-else"}`, 0)
	id, err := h.svc.Open(ctx, resident, general, "k-collide")
	if err != nil {
		t.Fatal(err)
	}
	if id == taken || id != caseIDFor("k-collide", 1) {
		t.Errorf("opened %s; want the second candidate %s, not the taken %s", id, caseIDFor("k-collide", 1), taken)
	}
	again, err := h.svc.Open(ctx, resident, general, "k-collide")
	if err != nil || again != id {
		t.Errorf("opened again: %s, %v; want %s", again, err, id)
	}
}

// A slow or failing Slack does not hold the LINE side: Open, Relay,
// Escalate and Forget only write to Redis.
func TestRecordingDoesNotWaitForSlack(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	h.fake.RateLimit("chat.postMessage", 1000, 30) // Slack says: wait 30s, again and again
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for i := range 20 {
		if err := h.svc.Relay(ctx, c.ID, fmt.Sprint("k-", i), []string{fmt.Sprint("relay ", i)}, nil); err != nil {
			t.Fatalf("Relay with Slack limiting: %v", err)
		}
	}
	if err := h.svc.Escalate(ctx, c.ID, flows.Handoff{Urgent: true, Crisis: "suicide"}, "k-esc"); err != nil {
		t.Fatalf("Escalate with Slack limiting: %v", err)
	}
	if _, err := h.svc.Open(ctx, resident, general, "k-new"); err != nil {
		t.Fatalf("Open with Slack limiting: %v", err)
	}
	if err := h.svc.Forget(ctx, c.ID, "k-forget"); err != nil {
		t.Fatalf("Forget with Slack limiting: %v", err)
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
		{"huge timestamp", func() *http.Request {
			r := signed("/slack/events", reply, time.Now(), secret)
			r.Header.Set("X-Slack-Request-Timestamp", strings.Repeat("9", 900_000))
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
	h.drained()
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

// unreadable is a body that fails the test if it is read.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body of an unsigned request was read")
	return 0, fmt.Errorf("unreadable")
}

func (u unreadable) Close() error { return nil }

// A request without signature headers is refused before its body is read,
// and nothing it carries reaches the log.
func TestUnsignedSlackRequestIsNotRead(t *testing.T) {
	h := newHarness(t, nil)
	for _, hd := range []http.Handler{h.ev, h.ix} {
		r := signed("/slack/events", "{}", time.Now(), secret)
		r.Header.Del("X-Slack-Signature")
		r.Body = unreadable{t}
		if w := serve(hd, r); w.Code != http.StatusUnauthorized {
			t.Errorf("unsigned request got %d, want 401", w.Code)
		}
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
	h.drained()
	if n, d := len(h.push.pushes()), h.push.dupes; n != 1 || d != 0 {
		t.Errorf("%d pushes and %d duplicate attempts, want 1 and 0", n, d)
	}
}

// What staff write in a thread that must never reach the resident, and
// what must.
func TestWhatIsRelayed(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
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
			tag := " #" + string(rune('A'+i))
			m.Text += tag
			before := len(h.push.pushes())
			h.staff(m)
			h.drained()
			if got := anyPushContains(h.push.pushes()[before:], tag); got != tt.relay {
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
	h.drained()
	c = h.caseNow(c.ID)
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
	h.drained()
	if n := len(h.fake.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d posts after a repeated Open, want 2", n)
	}
}

func TestOutOfHoursCard(t *testing.T) {
	h := newHarnessAt(t, redistest.New(t), closedHour, nil)
	c := h.open(general, "k1")
	if !c.OutOfHours || !strings.Contains(h.card(c.Home), "時間外") {
		t.Errorf("out-of-hours case not marked:\n%s", h.card(c.Home))
	}
	// The reminder for an ordinary case counts from the next opening (Monday 08:30).
	// The reminder is armed just after the card is stored.
	var zs []redis.Z
	h.eventually("the reminder armed", func() bool {
		zs = nil
		for _, z := range h.rdb.ZRangeWithScores(context.Background(), h.svc.dueKey(), 0, -1).Val() {
			if strings.Contains(z.Member.(string), `"k":"escalate"`) {
				zs = append(zs, z)
			}
		}
		return len(zs) == 1
	})
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

// Slack's 429 is honoured: the post is tried again, not dropped (the wait
// itself is TestCallSlackWaitsRetryAfter's).
func TestRateLimitIsHonoured(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.RateLimit("chat.postMessage", 1, 1)
	c := h.open(general, "k1")
	calls := h.fake.Calls("chat.postMessage")
	if len(calls) != 2 || !calls[0].Limited || calls[1].Limited {
		t.Fatalf("calls: %d, want a limited one then a good one", len(calls))
	}
	if c.Home == nil {
		t.Fatal("card lost after 429")
	}
}

func TestRelayIsIdempotentByKey(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	for range 2 {
		if err := h.svc.Relay(context.Background(), c.ID, "line-ev-9", []string{"[sticker]"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("the relay", func() bool { return len(h.fake.Thread(c.Home.Channel, c.Home.TS)) > 0 })
	h.drained()
	if n := len(h.fake.Thread(c.Home.Channel, c.Home.TS)); n != 1 {
		t.Errorf("%d thread posts, want 1", n)
	}
}

// A resident writing faster than their channel may be posted to reaches
// staff in fewer posts, every word in order; other cases in the same
// channel take their turns meanwhile.
func TestRelaysAreMergedPerTurn(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ChannelInterval = 150 * time.Millisecond })
	ctx := context.Background()
	a := h.open(general, "ka")
	b := h.open(general, "kb")
	for i := range 12 {
		if err := h.svc.Relay(ctx, a.ID, fmt.Sprint("ra-", i), []string{fmt.Sprintf("a-%02d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Relay(ctx, b.ID, "rb-0", []string{"b-00"}, nil); err != nil {
		t.Fatal(err)
	}
	h.drained()
	thread := h.threadTexts(a.Home)
	all := strings.Join(thread, "\n")
	last := -1
	for i := range 12 {
		at := strings.Index(all, fmt.Sprintf("a-%02d", i))
		if at < 0 || at < last {
			t.Fatalf("relay a-%02d missing or out of order in %q", i, thread)
		}
		last = at
	}
	if len(thread) >= 12 {
		t.Errorf("%d posts for 12 relays, want them merged", len(thread))
	}
	if bt := h.threadTexts(b.Home); len(bt) != 1 || !strings.Contains(bt[0], "b-00") {
		t.Errorf("the other case's thread: %q", bt)
	}
}

// In a channel busy with relays, a crisis card and an escalation take the
// next turn, ahead of the relays already waiting; a card for another
// channel does not wait for this one at all.
func TestUrgentGoesFirstInABusyChannel(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ChannelInterval = 100 * time.Millisecond })
	ctx := context.Background()
	var floods []*Case
	for i := range 6 {
		floods = append(floods, h.open(general, fmt.Sprint("flood-", i)))
	}
	for i, c := range floods {
		for j := range 4 {
			if err := h.svc.Relay(ctx, c.ID, fmt.Sprintf("f-%d-%d", i, j), []string{fmt.Sprintf("flood %d-%d", i, j)}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	crisis, err := h.svc.Open(ctx, resident, flows.Handoff{Categories: []string{"general"}, Urgent: true, Crisis: "suicide"}, "crisis")
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.svc.Open(ctx, resident, flows.Handoff{Categories: []string{"elderly"}}, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	h.drained()
	order := func(sub string) int {
		for i, m := range h.fake.Messages() {
			if strings.Contains(m.Text, sub) || strings.Contains(m.Blocks, sub) {
				return i
			}
		}
		t.Fatalf("no post contains %q", sub)
		return -1
	}
	lastFlood := 0
	for i := range floods {
		lastFlood = max(lastFlood, order(fmt.Sprintf("flood %d-3", i)))
	}
	if c := order("case:" + crisis); c > lastFlood {
		t.Errorf("crisis card posted after the whole flood (post %d, flood ended at %d)", c, lastFlood)
	}
	if o := order("case:" + other); o > lastFlood {
		t.Errorf("another channel's card waited for the flood (post %d, flood ended at %d)", o, lastFlood)
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
	h.eventually("the urgent card", func() bool { return strings.Contains(h.card(c.Home), "🚨") })
	h.drained()
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
	for _, want := range []string{"🚨 緊急", "<!subteam^S0URGENT>", "（暴力）", "English", "my husband hits me"} {
		if !strings.Contains(card, want) {
			t.Errorf("urgent card lacks %q:\n%s", want, card)
		}
	}
	if m, _ := h.fake.Message(c.Home.Channel, c.Home.TS); !strings.HasPrefix(m.Text, "<!subteam^S0URGENT>") {
		t.Errorf("notification text %q does not mention the group", m.Text)
	}
}

// TestSuggestionsAndChecksReachStaff: needs found in later words are listed
// on the card and said in the thread once; a safety check asked during the
// case is noted, and its answer is shown when it turns the case urgent.
func TestSuggestionsAndChecksReachStaff(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.open(flows.Handoff{Categories: []string{"general"}}, "k1")
	for _, key := range []string{"s1", "s1", "s2"} {
		if err := h.svc.Suggest(ctx, c.ID, []string{"elderly"}, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.CheckAsked(ctx, c.ID, "suicide", "c1"); err != nil {
		t.Fatal(err)
	}
	h.drained()
	card := h.card(c.Home)
	for _, want := range []string{"候補の分野", "高齢", "安全の確認", "自殺の危険：回答待ち"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	thread := strings.Join(h.threadTexts(c.Home), "\n")
	if n := strings.Count(thread, "ほかの分野の可能性"); n != 1 {
		t.Errorf("%d suggestion notes for one need, want 1:\n%s", n, thread)
	}
	if !strings.Contains(thread, "安全の確認（自殺の危険）を尋ねました") {
		t.Errorf("no note of the check in the thread:\n%s", thread)
	}
	if err := h.svc.Escalate(ctx, c.ID, flows.Handoff{Urgent: true, Crisis: "suicide", Checked: "yes"}, "e1"); err != nil {
		t.Fatal(err)
	}
	h.drained()
	if card := h.card(c.Home); !strings.Contains(card, "自殺の危険：はい") || !strings.Contains(card, "🚨") {
		t.Errorf("escalated card does not show the answer:\n%s", card)
	}
}
