package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestRedisLogRateLimited: an outage's flood of go-redis lines becomes one
// JSON line at once and one with the count at the end of the window; a
// different message is not held back by the first; after the window the
// message is logged again.
func TestRedisLogRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		buf := &serveLog{} // written by the timers' goroutines too
		l := newRedisLog(slog.New(slog.NewJSONHandler(buf, nil)), 10*time.Second)
		ctx := context.Background()
		for i := range 38 {
			l.Printf(ctx, "connection pool: failed to dial after %d attempts: %v", 5, "dial tcp 127.0.0.1:6379: connect: connection refused")
			if i == 3 {
				l.Printf(ctx, "discarding bad PubSub connection: %v", "EOF")
			}
			time.Sleep(100 * time.Millisecond)
		}
		lines := func() []map[string]any {
			var out []map[string]any
			for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(s), &m); err != nil {
					t.Fatalf("not a JSON line: %q", s)
				}
				out = append(out, m)
			}
			return out
		}
		if n := len(lines()); n != 2 {
			t.Fatalf("%d lines during the burst, want 2 (one per message):\n%s", n, buf.String())
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := lines()
		if len(got) != 3 {
			t.Fatalf("%d lines after the window, want 3:\n%s", len(got), buf.String())
		}
		last := got[2]
		if !strings.Contains(last["msg"].(string), "(37 more in the last 10s)") || last["repeated"] != float64(37) {
			t.Errorf("count line %v", last)
		}
		l.Printf(ctx, "connection pool: failed to dial after %d attempts: %v", 5, "refused")
		if n := len(lines()); n != 4 {
			t.Errorf("%d lines, want the message logged again after the window", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(lines()); n != 4 {
			t.Errorf("%d lines: a burst of one must not add a count line", n)
		}
	})
}
