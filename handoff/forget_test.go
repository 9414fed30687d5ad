package handoff

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// scheduledFor lists the kinds of work waiting in the due set for a case.
func (h *harness) scheduledFor(id string) []string {
	h.t.Helper()
	members, err := h.rdb.ZRange(context.Background(), h.svc.dueKey(), 0, -1).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	var kinds []string
	for _, m := range members {
		var t task
		if json.Unmarshal([]byte(m), &t) == nil && t.Case == id {
			kinds = append(kinds, t.Kind)
		}
	}
	return kinds
}

// countPrefix counts the items that start with p.
func countPrefix(list []string, p string) int {
	n := 0
	for _, v := range list {
		if strings.HasPrefix(v, p) {
			n++
		}
	}
	return n
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// TestForgetCutsTheResidentLink erases a resident during an open case with a
// check-in booked: the link to the LINE id is gone, the booked work is
// cancelled, the thread says so once although Forget comes twice (and once
// more under another key, as 削除 then blocking would), the card shows it,
// a later staff reply is answered in the thread and not pushed, and closing
// the case tells no one.
func TestForgetCutsTheResidentLink(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, func(c *Config) { c.FollowUps = []FollowUp{{Label: "明日", After: 24 * time.Hour}} })
	c := h.open(flows.Handoff{Categories: []string{"general"}, Locale: "ja", Said: []string{"誰かと話したい"}}, "k1")
	h.press(c, "U0TANAKA", map[string]any{"action_id": actFollowUp, "type": "static_select",
		"block_id": blockPrefix + c.ID + ":follow", "selected_option": map[string]any{"value": "0"}})
	h.eventually("follow-up booked", func() bool { return strings.Contains(h.card(c.Home), "フォローアップ予定") })
	if kinds := h.scheduledFor(c.ID); count(kinds, kindCheckin) != 1 || count(kinds, kindEscalate) != 1 {
		t.Fatalf("before forget: scheduled %v, want a check-in and a reminder", kinds)
	}

	for _, key := range []string{"line-ev-9:forget:0", "line-ev-9:forget:0", "line-ev-10:forget:0"} {
		if err := h.svc.Forget(ctx, c.ID, key); err != nil {
			t.Fatalf("Forget(%s): %v", key, err)
		}
		// The link goes at once, before any queued work.
		if n := h.rdb.Exists(ctx, h.svc.st.residentKey(c.ID)).Val(); n != 0 {
			t.Errorf("the case still links to the resident (%s exists)", h.svc.st.residentKey(c.ID))
		}
	}
	h.drained()
	kept := h.caseNow(c.ID)
	if kept.Forgotten.IsZero() || !kept.FollowUpAt.IsZero() || len(kept.Said) != 0 || !kept.Erased {
		t.Errorf("case after forget: forgotten %v follow-up %v said %q erased %v; want kept, anonymous, as the staff record",
			kept.Forgotten, kept.FollowUpAt, kept.Said, kept.Erased)
	}
	if kinds := h.scheduledFor(c.ID); count(kinds, kindCheckin) != 0 || count(kinds, kindEscalate) != 0 {
		t.Errorf("after forget: still scheduled %v", kinds)
	}
	if n := countPrefix(h.threadTexts(c.Home), forgottenNote); n != 1 {
		t.Errorf("forget note posted %d times, want once: %q", n, h.threadTexts(c.Home))
	}
	card := h.card(c.Home)
	for _, want := range []string{"相談者がデータを削除", "返信は相談者に届きません", "[担当する]", "[終了]"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	for _, unwanted := range []string{"フォローアップ", "LINEで届きます"} {
		if strings.Contains(card, unwanted) {
			t.Errorf("card still says %q:\n%s", unwanted, card)
		}
	}

	h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "その後いかがですか"})
	h.eventually("the not-sent notice", func() bool { return count(h.threadTexts(c.Home), forgottenReply) == 1 })
	if p := h.push.pushes(); len(p) != 0 {
		t.Errorf("pushed %+v after the resident erased their data", p)
	}

	h.press(c, "U0TANAKA", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.eventually("closed card", func() bool { return strings.Contains(h.card(c.Home), "終了（担当 <@U0TANAKA>）") })
	h.eventually("close note", func() bool { return anyContains(h.threadTexts(c.Home), "お知らせは送っていません") })
	if cl := h.conv.closes(); len(cl) != 0 {
		t.Errorf("closing a forgotten case told the conversation: %+v", cl)
	}
}

// TestForgetEdges covers the races and leftovers around an erasure.
func TestForgetEdges(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, c *Case)
	}{
		{"a case no longer kept is nothing to forget", func(t *testing.T, h *harness, c *Case) {
			before := len(h.fake.Calls(""))
			if err := h.svc.Forget(ctx, "ZZZZZ", "k"); err != nil {
				t.Fatalf("Forget of an expired case: %v", err)
			}
			h.drained()
			if n := len(h.fake.Calls("")); n != before {
				t.Errorf("%d Slack calls for a case that is gone", n-before)
			}
			if n := h.rdb.Exists(ctx, h.svc.st.doneKey("ZZZZZ", "forget:k")).Val(); n != 0 {
				t.Error("a done mark was left for a case that is gone")
			}
		}},
		{"a check-in already queued is not pushed", func(t *testing.T, h *harness, c *Case) {
			if err := h.svc.Forget(ctx, c.ID, "k"); err != nil {
				t.Fatal(err)
			}
			h.drained()
			if err := h.svc.handleCheckin(ctx, task{Kind: kindCheckin, Case: c.ID, ID: "queued"}); err != nil {
				t.Fatalf("queued check-in: %v", err)
			}
			if p := h.push.pushes(); len(p) != 0 {
				t.Errorf("check-in pushed after forget: %+v", p)
			}
		}},
		{"a reply while the link is cut but the case not yet marked is answered", func(t *testing.T, h *harness, c *Case) {
			// Forget deletes the link first; a reply handled right then
			// must not be dropped silently.
			if err := h.svc.st.forgetResident(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			h.staff(msg{Channel: c.Home.Channel, ThreadTS: c.Home.TS, Text: "大丈夫ですか"})
			h.eventually("the not-sent notice", func() bool { return count(h.threadTexts(c.Home), forgottenReply) == 1 })
			if p := h.push.pushes(); len(p) != 0 {
				t.Errorf("pushed %+v", p)
			}
		}},
		{"a closed case is cut too and says so", func(t *testing.T, h *harness, c *Case) {
			h.press(c, "U0TANAKA", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
			h.eventually("closed", func() bool { return len(h.conv.closes()) == 1 })
			h.eventually("close note", func() bool { return anyContains(h.threadTexts(c.Home), "がケースを終了しました") })
			if err := h.svc.Forget(ctx, c.ID, "k"); err != nil {
				t.Fatal(err)
			}
			if n := h.rdb.Exists(ctx, h.svc.st.residentKey(c.ID)).Val(); n != 0 {
				t.Error("closed case still links to the resident")
			}
			h.drained()
			if n := countPrefix(h.threadTexts(c.Home), forgottenNote); n != 1 {
				t.Errorf("forget note posted %d times on the closed case", n)
			}
			if card := h.card(c.Home); !strings.Contains(card, "終了") || !strings.Contains(card, "相談者がデータを削除") {
				t.Errorf("closed card after forget:\n%s", card)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.open(general, "k1")
			tt.run(t, h, c)
		})
	}
}

// TestForgetRewritesEveryQuote erases a compound case whose words reached
// Slack in the card, in relays before and after a transfer (two threads)
// and around the coordination post: every message as last posted or
// updated is free of them, and the case record keeps only what is
// anonymous. A city that keeps the staff's record (KeepSlackRecord) finds
// Slack untouched.
func TestForgetRewritesEveryQuote(t *testing.T) {
	const words = "山田花子 090-1234-5678"
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, func(c *Config) { c.KeepSlackRecord = keep })
			c := h.open(flows.Handoff{Categories: []string{"elderly", "isolation"}, Compound: true, Patterns: []string{"8050"},
				Locale: "ja", Said: []string{words + "です。母と兄のことで"}, Chose: []string{"高齢・介護"}}, "k1")
			if err := h.svc.Relay(ctx, c.ID, "r1", []string{"電話は " + words}, []string{"m-1"}); err != nil {
				t.Fatal(err)
			}
			h.drained()
			h.press(c, "U0TANAKA", map[string]any{"action_id": actTransfer, "type": "static_select",
				"block_id": blockPrefix + c.ID + ":move", "selected_option": map[string]any{"value": "isolation"}})
			h.eventually("transferred", func() bool { return h.caseNow(c.ID).Home.Category == "isolation" })
			if err := h.svc.Relay(ctx, c.ID, "r2", []string{"もう一度、" + words}, []string{"m-2"}); err != nil {
				t.Fatal(err)
			}
			h.drained()
			shown := 0
			for _, m := range h.fake.Messages() {
				if strings.Contains(m.Text+m.Blocks, "090-1234-5678") {
					shown++
				}
			}
			if shown < 3 {
				t.Fatalf("the words reached %d messages, want the card and two relays", shown)
			}
			if n := h.rdb.SCard(ctx, h.svc.st.quotesKey(c.ID)).Val(); n != 2 {
				t.Fatalf("%d relayed posts remembered, want 2", n)
			}

			if err := h.svc.Forget(ctx, c.ID, "ev-9:forget:0"); err != nil {
				t.Fatal(err)
			}
			h.drained()
			kept := h.caseNow(c.ID)
			left := 0
			for _, m := range h.fake.Messages() {
				if strings.Contains(m.Text+m.Blocks, "090-1234-5678") {
					left++
				}
			}
			if keep {
				if left != shown || len(kept.Said) == 0 || kept.Erased {
					t.Errorf("kept record: %d of %d messages still quote, said %q erased %v; want Slack untouched", left, shown, kept.Said, kept.Erased)
				}
				if !anyContains(h.threadTexts(kept.Home), keptNote) {
					t.Errorf("the thread was not told the record is kept: %q", h.threadTexts(kept.Home))
				}
				return
			}
			if left != 0 {
				t.Errorf("%d Slack messages still quote the resident after the erasure", left)
			}
			if len(kept.Said) != 0 || len(kept.Chose) != 0 || !kept.Erased || kept.ID != c.ID ||
				len(kept.Categories) != 2 || !kept.Compound || kept.Created.IsZero() {
				t.Errorf("case after erasure: %+v; want anonymous and otherwise whole", kept)
			}
			if n := h.rdb.Exists(ctx, h.svc.st.quotesKey(c.ID)).Val(); n != 0 {
				t.Error("the list of quoting posts outlived the erasure")
			}
			for _, k := range h.rdb.Keys(ctx, h.env.Prefix+"case:*").Val() {
				v := fmt.Sprint(h.rdb.SMembers(ctx, k).Val())
				if h.rdb.Type(ctx, k).Val() == "string" {
					v = h.rdb.Get(ctx, k).Val()
				}
				if strings.Contains(v, "090-1234-5678") {
					t.Errorf("Redis key %s still holds the words", k)
				}
			}
			card := h.card(kept.Home)
			for _, want := range []string{erasedWords, "高齢・介護", "ひきこもり"} {
				if !strings.Contains(card, want) {
					t.Errorf("card lacks %q:\n%s", want, card)
				}
			}
			updates := len(h.fake.Calls("chat.update"))
			if err := h.svc.Forget(ctx, c.ID, "ev-10:forget:0"); err != nil {
				t.Fatal(err)
			}
			h.drained()
			if n := len(h.fake.Calls("chat.update")) - updates; n > 2 {
				t.Errorf("a second erasure made %d updates, want only the card and coordination redrawn", n)
			}
		})
	}
}
