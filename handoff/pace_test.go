package handoff

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"
)

// TestPacerSpacesPostsPerChannel runs the pacer in a synctest bubble: the
// time it reads is the bubble's, so the spacing is exact and the test does
// not wait for real.
func TestPacerSpacesPostsPerChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(time.Second, time.Now)
		start := time.Now()
		var (
			mu  sync.Mutex
			got = map[string][]time.Duration{}
		)
		var wg sync.WaitGroup
		for _, ch := range []string{"C1", "C1", "C1", "C1", "C2", "C2"} {
			wg.Go(func() {
				if err := p.wait(context.Background(), ch, false); err != nil {
					t.Error(err)
				}
				mu.Lock()
				got[ch] = append(got[ch], time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		want := map[string][]time.Duration{"C1": {0, time.Second, 2 * time.Second, 3 * time.Second}, "C2": {0, time.Second}}
		for ch, w := range want {
			if len(got[ch]) != len(w) {
				t.Fatalf("%s: %v, want %v", ch, got[ch], w)
			}
			for i := range w {
				if got[ch][i] != w[i] {
					t.Errorf("%s: turns at %v, want %v (one channel never waits for another)", ch, got[ch], w)
					break
				}
			}
		}
	})
}

// TestPacerServesUrgentFirst: a crisis post queued behind relays gets the
// channel's next turn.
func TestPacerServesUrgentFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(time.Second, time.Now)
		if err := p.wait(context.Background(), "C1", false); err != nil { // takes the free turn
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			order []string
		)
		var wg sync.WaitGroup
		post := func(name string, urgent bool) {
			wg.Go(func() {
				if err := p.wait(context.Background(), "C1", urgent); err != nil {
					t.Error(err)
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			})
			synctest.Wait() // queued before the next one comes
		}
		post("relay-1", false)
		post("relay-2", false)
		post("crisis", true)
		post("relay-3", false)
		post("escalation", true)
		wg.Wait()
		want := []string{"crisis", "escalation", "relay-1", "relay-2", "relay-3"}
		for i := range want {
			if order[i] != want[i] {
				t.Fatalf("served %v, want %v", order, want)
			}
		}
	})
}

// TestPacerGivesUpOnCancel: a waiter whose context ends leaves the queue
// and the next waiter keeps its turn.
func TestPacerGivesUpOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(time.Second, time.Now)
		_ = p.wait(context.Background(), "C1", false)
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := p.wait(ctx, "C1", false); err == nil {
			t.Fatal("a cancelled wait returned no error")
		}
		start := time.Now()
		if err := p.wait(context.Background(), "C1", false); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("next waiter served after %v, want at the slot (500ms later)", d)
		}
	})
}

// TestCallSlackWaitsRetryAfter: after a 429 the call is tried again once
// Slack's Retry-After has passed, and the channel's next turn moves too.
func TestCallSlackWaitsRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Service{pace: newPacer(time.Second, time.Now), log: slog.New(slog.DiscardHandler)}
		var calls []time.Duration
		start := time.Now()
		err := s.callSlack(context.Background(), "C1", false, func() error {
			calls = append(calls, time.Since(start))
			if len(calls) == 1 {
				return &slack.RateLimitedError{RetryAfter: 3 * time.Second}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 2 || calls[0] != 0 || calls[1] != 3*time.Second {
			t.Errorf("calls at %v, want at 0 and after Retry-After (3s)", calls)
		}
		_ = s.pace.wait(context.Background(), "C1", false)
		if d := time.Since(start); d != 4*time.Second {
			t.Errorf("next post at %v, want one interval after the retried one (4s)", d)
		}
	})
}
