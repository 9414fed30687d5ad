package handoff

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

func TestCardButtons(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(flows.Handoff{Categories: []string{"elderly"}, Locale: "ja", Said: []string{"母の介護がつらい"}}, "k1")
	elderly := h.fake.ChannelID("#elderly")

	// 担当する
	h.press(c, "U0TANAKA", map[string]any{"action_id": actClaim, "type": "button", "value": c.ID})
	h.eventually("claim", func() bool { return strings.Contains(h.card(c.Home), "対応中（担当 <@U0TANAKA>）") })
	if card := h.card(c.Home); strings.Contains(card, "[担当する]") {
		t.Errorf("claimed card still offers 担当する:\n%s", card)
	}
	// The note follows the card's redraw.
	h.eventually("the claim note in the thread", func() bool { return anyContains(h.threadTexts(c.Home), "<@U0TANAKA> が担当します") })

	// チーム追加
	h.press(c, "U0TANAKA", map[string]any{"action_id": actAddTeam, "type": "static_select",
		"block_id": blockPrefix + c.ID + ":move", "selected_option": map[string]any{"value": "isolation"}})
	h.eventually("add team", func() bool { return strings.Contains(h.card(c.Home), "高齢チーム、孤立チーム") })
	isolation := h.fake.ChannelID("#isolation")
	var pointer string
	for _, m := range h.fake.Messages() {
		if m.Channel == isolation {
			pointer = m.Text
		}
	}
	if !strings.Contains(pointer, "相談 "+c.ID) || !strings.Contains(pointer, c.Home.Permalink) {
		t.Errorf("added team's channel got %q, want a link to the case thread", pointer)
	}

	// 転送
	h.press(c, "U0TANAKA", map[string]any{"action_id": actTransfer, "type": "static_select",
		"block_id": blockPrefix + c.ID + ":move", "selected_option": map[string]any{"value": "general"}})
	// The note in the new thread is the transfer's last step.
	h.eventually("transfer", func() bool {
		now := h.caseNow(c.ID)
		return now.Teams[0] == "general" && anyContains(h.threadTexts(now.Home), c.Home.Permalink)
	})
	moved := h.caseNow(c.ID)
	if moved.Home.Channel != h.fake.ChannelID("#general") || moved.Status != StatusOpen || moved.Holder != "" {
		t.Errorf("after transfer: home %s status %s holder %q", moved.Home.Channel, moved.Status, moved.Holder)
	}
	if old := h.card(c.Home); !strings.Contains(old, "転送済み") || !strings.Contains(old, moved.Home.Permalink) {
		t.Errorf("old card after transfer:\n%s", old)
	}
	newCard := h.card(moved.Home)
	for _, want := range []string{"よろずチーム、孤立チーム", "未対応", "母の介護がつらい"} {
		if !strings.Contains(newCard, want) {
			t.Errorf("new card lacks %q:\n%s", want, newCard)
		}
	}
	// The note comes last in the transfer's work, after the case is stored.
	h.eventually("the new thread links the old one", func() bool { return anyContains(h.threadTexts(moved.Home), c.Home.Permalink) })
	// One thread of truth: the old thread no longer reaches the resident.
	h.staff(msg{Channel: elderly, ThreadTS: c.Home.TS, Text: "old thread"})
	h.staff(msg{Channel: moved.Home.Channel, ThreadTS: moved.Home.TS, Text: "new thread"})
	h.eventually("reply in the new thread", func() bool { return anyPushContains(h.push.pushes(), "new thread") })
	if anyPushContains(h.push.pushes(), "old thread") {
		t.Error("a reply in the old thread reached the resident")
	}
	// …and says so there, with the way to the new thread.
	h.eventually("notice in the old thread", func() bool {
		for _, m := range h.fake.Thread(c.Home.Channel, c.Home.TS) {
			if strings.Contains(m.Text, "今の返信は相談者に送られていません") && strings.Contains(m.Text, moved.Home.Permalink) {
				return true
			}
		}
		return false
	})

	// フォローアップ (日付)
	h.press(moved, "U0SATO", map[string]any{"action_id": actFollowUpDate, "type": "datepicker",
		"block_id": blockPrefix + c.ID + ":follow", "selected_date": "2026-12-10"})
	h.eventually("follow-up on card", func() bool {
		return strings.Contains(h.card(moved.Home), "フォローアップ予定：12/10(木) 08:30")
	})

	// 終了
	h.press(moved, "U0SATO", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.eventually("close", func() bool { return len(h.conv.closes()) == 1 })
	cl := h.conv.closes()[0]
	if cl.User != resident || cl.Case != c.ID || cl.Key == "" {
		t.Errorf("CloseConversation(%q, %q, %q)", cl.User, cl.Case, cl.Key)
	}
	h.eventually("closed card", func() bool { return strings.Contains(h.card(moved.Home), "終了（担当 <@U0SATO>）") })
	card := h.card(moved.Home)
	if strings.Contains(card, "[") {
		t.Errorf("closed card still has buttons:\n%s", card)
	}
	// The retention is set last, once the thread was told.
	h.drained()
	if ttl := h.rdb.TTL(context.Background(), h.svc.st.residentKey(c.ID)).Val(); ttl <= 0 {
		t.Errorf("closed case kept forever (ttl %v)", ttl)
	}
	// A reply after closing is not sent, and staff are told so.
	h.staff(msg{Channel: moved.Home.Channel, ThreadTS: moved.Home.TS, Text: "after close"})
	h.eventually("closed notice", func() bool { return anyContains(h.threadTexts(moved.Home), "送られていません") })
	if anyPushContains(h.push.pushes(), "after close") {
		t.Error("a reply after close reached the resident")
	}
	// Pressing 終了 again changes nothing.
	h.press(moved, "U0SATO", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.drained()
	if n := len(h.conv.closes()); n > 2 {
		t.Errorf("%d CloseConversation calls", n)
	}
}

// TestEscalationReminder moves the service's clock instead of waiting: no
// reminder before a case is due, one when it is, none for a claimed case.
func TestEscalationReminder(t *testing.T) {
	tests := []struct {
		name   string
		hd     flows.Handoff
		claim  bool
		due    time.Duration
		remind bool
	}{
		{"unclaimed ordinary case", general, false, 30 * time.Minute, true},
		{"unclaimed urgent case comes sooner", flows.Handoff{Categories: []string{"violence"}, Urgent: true, Crisis: "violence"}, false, 5 * time.Minute, true},
		{"claimed case", general, true, 30 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.EscalateAfter = 30 * time.Minute
				c.EscalateUrgentAfter = 5 * time.Minute
			})
			c := h.open(tt.hd, "k1")
			if tt.claim {
				h.press(c, "U0TANAKA", map[string]any{"action_id": actClaim, "type": "button", "value": c.ID})
				h.eventually("claim", func() bool { return h.caseNow(c.ID).Status == StatusClaimed })
			}
			reminders := func() int {
				n := 0
				for _, s := range h.threadTexts(c.Home) {
					if strings.Contains(s, "<!subteam^S0LEADS>") {
						n++
					}
				}
				return n
			}
			h.clock.Advance(tt.due - time.Minute)
			h.drained()
			if n := reminders(); n != 0 {
				t.Fatalf("%d reminders a minute before the case is due", n)
			}
			h.clock.Advance(2 * time.Minute)
			if tt.remind {
				h.eventually("the reminder", func() bool { return reminders() > 0 })
			}
			h.drained()
			want := 0
			if tt.remind {
				want = 1
			}
			if n := reminders(); n != want {
				t.Errorf("%d reminders, want %d; thread %q", n, want, h.threadTexts(c.Home))
			}
		})
	}
}

func TestFollowUpCheckin(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.FollowUps = []FollowUp{{Label: "明日", After: 24 * time.Hour}}
	})
	c := h.open(flows.Handoff{Categories: []string{"general"}, Locale: "en"}, "k1")
	h.press(c, "U0TANAKA", map[string]any{"action_id": actFollowUp, "type": "static_select",
		"block_id": blockPrefix + c.ID + ":follow", "selected_option": map[string]any{"value": "0"}})
	h.eventually("follow-up on the card", func() bool { return strings.Contains(h.card(c.Home), "フォローアップ予定") })
	h.drained()
	if n := len(h.push.pushes()); n != 0 {
		t.Fatalf("%d pushes before the check-in is due", n)
	}
	h.clock.Advance(24*time.Hour + time.Minute)
	h.eventually("check-in pushed", func() bool { return len(h.push.pushes()) == 1 })
	p := h.push.pushes()[0]
	if p.User != resident || len(p.Texts) != 1 || p.Texts[0] != "How are you doing?" {
		t.Errorf("check-in push %+v, want the flow's English checkin text", p)
	}
	h.eventually("thread note", func() bool { return anyContains(h.threadTexts(c.Home), "フォローアップを送りました") })
	if !anyContains(h.threadTexts(c.Home), "がフォローアップを予約しました") {
		t.Errorf("no scheduling note: %q", h.threadTexts(c.Home))
	}
	if strings.Contains(h.card(c.Home), "フォローアップ予定") {
		t.Error("card still shows the sent follow-up as planned")
	}
}

func TestInteractionDeliveredTwiceActsOnce(t *testing.T) {
	h := newHarness(t, nil)
	c := h.open(general, "k1")
	payload := `{"type":"block_actions","trigger_id":"trig-same","user":{"id":"U0TANAKA"},"actions":[{"action_id":"add_team","block_id":"case:` + c.ID + `:move","type":"static_select","action_ts":"1800000000.1","selected_option":{"value":"elderly"}}]}`
	for range 2 {
		if err := h.svc.intakeInteraction(context.Background(), []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	elderly := h.fake.ChannelID("#elderly")
	h.eventually("pointer", func() bool {
		for _, m := range h.fake.Messages() {
			if m.Channel == elderly {
				return true
			}
		}
		return false
	})
	h.drained()
	n := 0
	for _, m := range h.fake.Messages() {
		if m.Channel == elderly {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d pointer posts, want 1", n)
	}
}
