package bot

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// notingHandoffs records the suggestions and checks the workers pass on.
type notingHandoffs struct {
	Handoffs
	mu        sync.Mutex
	suggested [][]string
	checks    []string
}

func (h *notingHandoffs) Suggest(ctx context.Context, caseID string, cats []string, key string) error {
	h.mu.Lock()
	h.suggested = append(h.suggested, cats)
	h.mu.Unlock()
	return h.Handoffs.Suggest(ctx, caseID, cats, key)
}

func (h *notingHandoffs) CheckAsked(ctx context.Context, caseID, kind, key string) error {
	h.mu.Lock()
	h.checks = append(h.checks, kind)
	h.mu.Unlock()
	return h.Handoffs.CheckAsked(ctx, caseID, kind, key)
}

func (h *notingHandoffs) seen() ([][]string, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.suggested), slices.Clone(h.checks)
}

// TestLaterWordsAndChecksReachStaff: while staff have the case, a need that
// only comes up later is suggested to them, and a safety check asked is
// noted, each once.
func TestLaterWordsAndChecksReachStaff(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	staff := &notingHandoffs{Handoffs: r.handoffs}
	r.startWorkers("w", staff, nil)
	for i, text := range []string{"人と話したい", "実は母の介護がもう大変で", "借金もう返せないし、全部どうでもいい"} {
		if got := r.post(textEvent("01JNOTE"+string(rune('A'+i)), alice, "rt-n"+string(rune('A'+i)), text)); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		r.eventually("the message worked", func() bool { return r.backlog() == 0 })
	}
	r.eventually("the staff side told", func() bool {
		s, c := staff.seen()
		return len(s) > 0 && len(c) > 0
	})
	suggested, checks := staff.seen()
	if !slices.ContainsFunc(suggested, func(cats []string) bool { return slices.Contains(cats, "elderly") }) {
		t.Errorf("suggestions %v, want elderly among them", suggested)
	}
	if !slices.Equal(checks, []string{"suicide"}) {
		t.Errorf("checks %v, want one about suicide", checks)
	}
}
