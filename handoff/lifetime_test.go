package handoff

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOpenCaseExpiresWithANote: an open case nobody touches lives
// OpenCaseMax; shortly before its end the thread is told, then every key of
// the case is gone on its own. A relay meanwhile renews it.
func TestOpenCaseExpiresWithANote(t *testing.T) {
	ctx := context.Background()
	const openMax = 2 * time.Second
	h := newHarness(t, func(c *Config) { c.OpenCaseMax = openMax })
	c := h.open(general, "k1")
	for _, k := range []string{h.svc.st.caseKey(c.ID), h.svc.st.residentKey(c.ID), h.svc.st.threadKey(c.Home.Channel, c.Home.TS)} {
		if ttl := h.rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > openMax {
			t.Errorf("%s lives %v, want at most %v", k, ttl, openMax)
		}
	}
	// Halfway through, the resident writes: the case lives on from then.
	h.eventually("half its life", func() bool { return h.rdb.PTTL(ctx, h.svc.st.caseKey(c.ID)).Val() < openMax/2 })
	if err := h.svc.Relay(ctx, c.ID, "r1", []string{"まだいます"}, nil); err != nil {
		t.Fatal(err)
	}
	h.eventually("relayed", func() bool { return anyContains(h.threadTexts(c.Home), "まだいます") })
	relayed := time.Now()
	note := func() bool { return anyContains(h.threadTexts(c.Home), "動きがないため") }
	h.eventually("the expiry note", note)
	if since := time.Since(relayed); since < openMax-openMax/5 {
		t.Errorf("note %v after the last activity; the relay should have renewed the case", since)
	}
	h.eventually("the case gone", func() bool {
		return h.rdb.Exists(ctx, h.svc.st.caseKey(c.ID), h.svc.st.residentKey(c.ID), h.svc.st.quotesKey(c.ID),
			h.svc.st.threadKey(c.Home.Channel, c.Home.TS)).Val() == 0
	})
	n := 0
	for _, s := range h.threadTexts(c.Home) {
		if strings.Contains(s, "動きがないため") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("expiry note posted %d times, want once", n)
	}
}
