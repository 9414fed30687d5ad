package handoff

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/stats"
)

// The statistics count each case event once, however often the work behind
// it is redone, and hold nothing that names a case or a resident.
func TestCaseEventsAreCounted(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	c := h.open(flows.Handoff{Categories: []string{"elderly", "isolation"}, Compound: true, Patterns: []string{"8050"}, Locale: "ja",
		Said: []string{"息子がずっと家にいて"}}, "ev-1")
	if _, err := h.svc.Open(ctx, resident, general, "ev-1"); err != nil { // LINE redelivered the event
		t.Fatal(err)
	}
	h.clock.Advance(12 * time.Minute)
	for range 2 { // a double press
		h.press(c, "U0TANAKA", map[string]any{"action_id": actClaim, "type": "button", "value": c.ID})
	}
	h.eventually("the claim", func() bool { return h.caseNow(c.ID).Status == StatusClaimed })
	h.press(c, "U0SATO", map[string]any{"action_id": actClaim, "type": "button", "value": c.ID}) // taken over: not a new wait
	for range 2 {
		if err := h.svc.Escalate(ctx, c.ID, flows.Handoff{Urgent: true, Crisis: "suicide"}, "ev-crisis"); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Escalate(ctx, c.ID, flows.Handoff{Urgent: true, Crisis: "suicide"}, "ev-crisis-again"); err != nil {
		t.Fatal(err)
	}
	h.press(c, "U0SATO", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.press(c, "U0SATO", map[string]any{"action_id": actClose, "type": "button", "value": c.ID})
	h.eventually("the close", func() bool { return h.caseNow(c.ID).Status == StatusClosed })
	h.drained()

	key := stats.Key(h.env.Prefix, "2026-12")
	want := map[string]string{
		"opened": "1", "cat:elderly:normal": "1", "route:triaged": "1", "need:elderly": "1", "need:isolation": "1",
		"compound": "1", "pattern:8050": "1", "claimed": "1", "wait:15m": "1", "crisis:suicide": "1", "closed": "1",
	}
	var got map[string]string
	h.eventually("the counters", func() bool {
		got = h.rdb.HGetAll(ctx, key).Val()
		return maps.Equal(got, want)
	})
	if ttl := h.rdb.TTL(ctx, key).Val(); ttl != -1 {
		t.Errorf("the month's counters have TTL %v; they must outlive the cases", ttl)
	}
	for f, v := range h.rdb.HGetAll(ctx, key).Val() {
		if contains([]string{f, v}, c.ID) {
			t.Errorf("a counter names the case: %s=%s", f, v)
		}
	}
}
