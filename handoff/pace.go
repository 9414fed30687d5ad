package handoff

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// pacer spaces posts to one channel by a fixed interval: Slack allows about
// one message per second per channel and answers bursts with 429. Waiting
// our turn is cheaper than being told to wait. A channel's waiters are
// served urgent first (a crisis card or escalation before a relay), then in
// the order they came; a wait for one channel never holds up another.
type pacer struct {
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	chans map[string]*channelPace
	seq   uint64
}

// channelPace is one channel's turn-taking.
type channelPace struct {
	next    time.Time // earliest time of the next post
	waiters []*waiter // urgent first, then by arrival
	timer   *time.Timer
}

type waiter struct {
	urgent bool
	seq    uint64
	ready  chan struct{}
}

func newPacer(interval time.Duration, now func() time.Time) *pacer {
	return &pacer{interval: interval, now: now, chans: map[string]*channelPace{}}
}

func (p *pacer) channel(name string) *channelPace {
	c := p.chans[name]
	if c == nil {
		c = &channelPace{}
		p.chans[name] = c
	}
	return c
}

// wait blocks until it is this caller's turn to post to channel.
func (p *pacer) wait(ctx context.Context, channel string, urgent bool) error {
	p.mu.Lock()
	c := p.channel(channel)
	now := p.now()
	if len(c.waiters) == 0 && !now.Before(c.next) {
		c.next = now.Add(p.interval)
		p.mu.Unlock()
		return nil
	}
	p.seq++
	w := &waiter{urgent: urgent, seq: p.seq, ready: make(chan struct{})}
	i := len(c.waiters)
	for i > 0 && urgent && !c.waiters[i-1].urgent {
		i--
	}
	c.waiters = append(c.waiters, nil)
	copy(c.waiters[i+1:], c.waiters[i:])
	c.waiters[i] = w
	p.arm(channel, c, now)
	p.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-w.ready:
			return nil // granted meanwhile: the turn is ours
		default:
		}
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		return ctx.Err()
	}
}

// arm starts the timer that serves the channel's next waiter at its next slot.
func (p *pacer) arm(channel string, c *channelPace, now time.Time) {
	if c.timer != nil {
		return
	}
	c.timer = time.AfterFunc(max(c.next.Sub(now), 0), func() { p.serve(channel) })
}

// serve gives the turn to the channel's first waiter, if its slot has come.
func (p *pacer) serve(channel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chans[channel]
	c.timer = nil
	now := p.now()
	if len(c.waiters) > 0 && !now.Before(c.next) {
		w := c.waiters[0]
		c.waiters = c.waiters[1:]
		c.next = now.Add(p.interval)
		close(w.ready)
	}
	if len(c.waiters) > 0 {
		p.arm(channel, c, now)
	}
}

// alias carries the bookings made under a channel's name over to its id,
// once Slack has told us the id, so that both share one pace.
func (p *pacer) alias(name, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from, to := p.channel(name), p.channel(id)
	if to.next.Before(from.next) {
		to.next = from.next
	}
}

// delay pushes a channel's next slot back after Slack said Retry-After.
func (p *pacer) delay(channel string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.channel(channel)
	if at := p.now().Add(d); c.next.Before(at) {
		c.next = at
	}
}

// callSlack runs fn, paced on channel when channel is not "", and repeats
// it for as long as Slack answers 429: the wait is Slack's Retry-After, and
// only the context's end gives up, so nothing is dropped.
func (s *Service) callSlack(ctx context.Context, channel string, urgent bool, fn func() error) error {
	for {
		if channel != "" {
			if err := s.pace.wait(ctx, channel, urgent); err != nil {
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
		s.log.WarnContext(ctx, "slack rate limited", "retry_after", wait)
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
