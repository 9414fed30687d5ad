package handoff

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// pacer spaces posts to one channel by a fixed interval: Slack allows about
// one message per second per channel and answers bursts with 429. Waiting
// our turn is cheaper than being told to wait.
type pacer struct {
	interval time.Duration
	mu       sync.Mutex
	next     map[string]time.Time
}

func newPacer(interval time.Duration) *pacer {
	return &pacer{interval: interval, next: map[string]time.Time{}}
}

// wait blocks until the channel's next slot, and books the one after it.
func (p *pacer) wait(ctx context.Context, channel string) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next[channel]
	if at.Before(now) {
		at = now
	}
	p.next[channel] = at.Add(p.interval)
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// alias carries the booking made under a channel's name over to its id,
// once Slack has told us the id, so that both share one pace.
func (p *pacer) alias(name, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next[id].Before(p.next[name]) {
		p.next[id] = p.next[name]
	}
}

// delay pushes a channel's next slot back after Slack said Retry-After.
func (p *pacer) delay(channel string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := time.Now().Add(d); p.next[channel].Before(at) {
		p.next[channel] = at
	}
}

// callSlack runs fn, paced on channel when channel is not "", and repeats
// it for as long as Slack answers 429: the wait is Slack's Retry-After, and
// only the context's end gives up, so nothing is dropped.
func (s *Service) callSlack(ctx context.Context, channel string, fn func() error) error {
	for {
		if channel != "" {
			if err := s.pace.wait(ctx, channel); err != nil {
				return err
			}
		}
		err := fn()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		slog.WarnContext(ctx, "slack rate limited", "retry_after", wait)
		if channel != "" {
			s.pace.delay(channel, wait)
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
