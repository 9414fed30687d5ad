package handoff

import (
	"context"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// TestCaseCounts: the counts follow cases through their life: opened
// (unclaimed, urgent or not), claimed, escalated, closed; the oldest
// unclaimed urgent case is the one opened first.
func TestCaseCounts(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	count := func() CaseCounts {
		t.Helper()
		cc, err := h.svc.CaseCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	if cc := count(); cc.Open != 0 || cc.Unclaimed != 0 || !cc.OldestUrgent.IsZero() {
		t.Fatalf("empty: %+v", cc)
	}
	calm := h.open(flows.Handoff{Categories: []string{"elderly"}, Locale: "ja"}, "calm")
	h.clock.Advance(time.Minute)
	urgent := h.open(flows.Handoff{Categories: []string{"general"}, Crisis: "suicide", Locale: "ja"}, "urgent")
	if cc := count(); cc.Open != 2 || cc.Unclaimed != 2 || !cc.OldestUrgent.Equal(urgent.Created.Truncate(time.Millisecond)) {
		t.Errorf("two open: %+v (urgent opened at %v)", cc, urgent.Created)
	}

	h.press(urgent, "U0TANAKA", map[string]any{"action_id": actClaim, "type": "button", "value": urgent.ID})
	// The counts follow the case's change, one round trip later.
	h.eventually("urgent claimed, counted", func() bool {
		cc := count()
		return h.caseNow(urgent.ID).Status == StatusClaimed && cc.Open == 2 && cc.Unclaimed == 1 && cc.OldestUrgent.IsZero()
	})

	if err := h.svc.Escalate(ctx, calm.ID, flows.Handoff{Crisis: "suicide"}, "esc"); err != nil {
		t.Fatal(err)
	}
	h.eventually("calm case escalated, counted as the oldest urgent", func() bool {
		cc := count()
		return h.caseNow(calm.ID).Urgent && cc.Unclaimed == 1 && cc.OldestUrgent.Equal(calm.Created.Truncate(time.Millisecond))
	})

	for _, c := range []*Case{calm, urgent} {
		h.press(c, "U0TANAKA", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
		h.eventually("closed", func() bool { return h.caseNow(c.ID).Status == StatusClosed })
	}
	h.eventually("all closed, counted", func() bool {
		cc := count()
		return cc.Open == 0 && cc.Unclaimed == 0 && cc.OldestUrgent.IsZero()
	})
}

// TestReadyFollowsAuth: Ready is an error before auth.test passed, nil
// after, and an error again as soon as a call is refused for the token.
func TestReadyFollowsAuth(t *testing.T) {
	h := newHarness(t, nil)
	h.eventually("auth.test passed", func() bool { return h.svc.Ready() == nil })
	h.fake.Fail("chat.postMessage", "token_revoked")
	if _, err := h.svc.Open(context.Background(), "U00000000000000000000000000000001", flows.Handoff{Categories: []string{"general"}, Locale: "ja"}, "k"); err != nil {
		t.Fatal(err)
	}
	h.eventually("not ready", func() bool { return h.svc.Ready() != nil })
}
