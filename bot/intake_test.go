package bot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// pipelineCounter counts the pipelines a client sends.
type pipelineCounter struct{ n atomic.Int64 }

func (h *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestConcurrentAddsShareRoundTrips: many webhooks storing at once are
// all stored, once each, in fewer round trips than there were calls.
func TestConcurrentAddsShareRoundTrips(t *testing.T) {
	r := newRig(t, rigOptions{shards: 4})
	pipes := &pipelineCounter{}
	r.rdb.AddHook(pipes)
	const calls = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range calls {
		wg.Go(func() {
			<-start
			e := Entry{ID: fmt.Sprint("01JGROUP", i), Kind: KindText, Source: "user", To: user(i), Text: "x"}
			if err := r.intake.Add(context.Background(), e); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := r.backlog(); n != calls {
		t.Errorf("%d entries stored for %d calls", n, calls)
	}
	if n := pipes.n.Load(); n >= calls {
		t.Errorf("%d round trips for %d concurrent calls, want them shared", n, calls)
	}
	t.Logf("%d calls in %d round trips", calls, pipes.n.Load())
	// A synthetic event stored twice is stored once.
	for range 2 {
		if err := r.intake.Enqueue(context.Background(), alice, "close:K1", flows.EventCaseClosed); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.backlog(); n != calls+1 {
		t.Errorf("%d entries after a repeated synthetic event, want %d", n, calls+1)
	}
}
