package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestWaitForReplicasNeverClosesTheDoor: asked to wait for a replica that
// does not exist, an add is still stored and acknowledged after the wait's
// bound, the shortfall is counted and logged, and the next adds do not wait
// on that master; not asked, nothing waits.
func TestWaitForReplicasNeverClosesTheDoor(t *testing.T) {
	r := newRig(t, rigOptions{shards: 2})
	var logs syncBuffer
	in := NewIntake(r.rdb, IntakeOptions{Prefix: r.env.Prefix + "w:", Shards: 2, WaitReplicas: 1,
		WaitTimeout: 20 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	for i := range 3 {
		e := Entry{ID: fmt.Sprint("01JWAIT", i), Kind: KindText, Source: "user", To: user(i), Text: "x"}
		if err := in.Add(context.Background(), e); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if got := in.Unreplicated(); got != 1 {
		t.Errorf("%d adds counted as unreplicated, want 1 (the first; then the master is not waited on)", got)
	}
	if n := strings.Count(logs.String(), "before enough replicas"); n != 1 {
		t.Errorf("%d log lines about replicas, want 1 (once a minute at most): %s", n, logs.String())
	}
	n, err := r.rdb.XLen(context.Background(), in.streamKey(in.ShardOf(user(0)))).Result()
	if err != nil || n == 0 {
		t.Errorf("stream holds %d entries (%v), want the adds stored", n, err)
	}
	if got := r.intake.Unreplicated(); got != 0 {
		t.Errorf("an intake that does not wait counted %d", got)
	}
}
