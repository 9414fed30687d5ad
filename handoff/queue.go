package handoff

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// All work of the staff side goes through one Redis stream with a consumer
// group: what the LINE side hands over (open a case's card, relay, escalate,
// forget), what Slack sends (events, button presses) and scheduled work
// (escalation reminders, check-ins). It is stored before the caller is
// answered, survives a crash (a silent consumer's entries are claimed again
// after ClaimAfter), and is removed only once done. Scheduled work waits in
// a sorted set scored by due time and a poller moves what is due into the
// stream. We chose this over hibiken/asynq: asynq keeps its own fixed
// "asynq:" key space (our prefix and hash tags would not apply), runs its
// own scheduler and processor goroutines, and brings protobuf and cron
// dependencies, for a few kinds of work that a stream, a sorted set and two
// Lua scripts cover.
//
// A consumer reads the stream into lanes: one per case (one per thread for
// staff replies), worked concurrently, each in order. A lane that waits for
// its channel's turn, or backs off after a Slack error, holds up no other.

// task is one unit of queued work.
type task struct {
	// Kind is one of the kind constants.
	Kind string `json:"k"`
	// Raw is the Slack payload for events and interactions.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Case is the case the work is about.
	Case string `json:"case,omitempty"`
	// Home is the home card's ts an escalation reminder was armed for; a
	// transfer moves the card and the old reminder no longer applies.
	Home string `json:"home,omitempty"`
	// ID makes a scheduled task unique and names its LINE push.
	ID string `json:"id,omitempty"`
	// Text is an escalation's safety-check answer; in a relay queued
	// before Lines existed, the resident's words.
	Text string `json:"text,omitempty"`
	// Lines are a relay's messages; for an unsend, the message taken back.
	Lines []line `json:"lines,omitempty"`
	// Crisis is the crisis kind of an urgent escalation or a safety check.
	Crisis string `json:"crisis,omitempty"`
	// Cats are the categories of a suggestion.
	Cats []string `json:"cats,omitempty"`
}

const (
	kindEvent       = "event"       // a Slack event (a staff reply)
	kindInteraction = "interaction" // a button or select on a card
	kindEscalate    = "escalate"    // the unclaimed-case reminder, when due
	kindCheckin     = "checkin"     // a scheduled check-in, when due
	kindCard        = "card"        // post a new case's card
	kindRelay       = "relay"       // the resident's words into the thread
	kindUrgent      = "urgent"      // a crisis during an open case
	kindForget      = "forget"      // the resident erased their data
	kindSuggest     = "suggest"     // needs found in later words
	kindCheck       = "check"       // the safety check asked during an open case
	kindUnsend      = "unsend"      // the resident took a relayed message back
	kindExpire      = "expire"      // an open case near the end of its lifetime
)

const group = "handoff"

// All queue keys share the {handoff} hash tag: the Lua scripts touch
// several of them at once, which Redis Cluster allows only within one slot.
func (s *Service) queueKey() string { return s.cfg.KeyPrefix + "{handoff}:queue" }
func (s *Service) dueKey() string   { return s.cfg.KeyPrefix + "{handoff}:due" }
func (s *Service) seenKey(id string) string {
	return s.cfg.KeyPrefix + "{handoff}:seen:" + id
}

// enqueueOnce stores a task unless its dedupe key was seen: the check and
// the append are one script, so a failed append never leaves the key marked
// as seen (the caller's retry will then be taken).
// The stream's lifetime is renewed with each task (ARGV[3], ms): a queue
// nobody wrote to for the whole retention holds nothing worth keeping.
var enqueueOnce = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[2], '*', 't', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1`)

// scheduleScript adds a task to the due set and keeps the set until a
// retention after its last task is due.
var scheduleScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(top[2]) + tonumber(ARGV[3])))
return 1`)

// moveDue moves due scheduled tasks into the stream.
var moveDue = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 't', m)
  redis.call('ZREM', KEYS[1], m)
end
return #due`)

// seenTTL covers Slack's retries (three, within minutes) and the LINE
// side's redo after a crash, with margin.
const seenTTL = 6 * time.Hour

// enqueue stores t; with a dedupeID it is stored only the first time.
// It reports whether the task was new.
func (s *Service) enqueue(ctx context.Context, t task, dedupeID string) (bool, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("encode task: %w", err)
	}
	if dedupeID == "" {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.queueKey(), Values: []string{"t", string(b)}})
			p.PExpire(ctx, s.queueKey(), s.cfg.Retention)
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("enqueue %s: %w", t.Kind, err)
		}
		return true, nil
	}
	n, err := enqueueOnce.Run(ctx, s.rdb, []string{s.seenKey(dedupeID), s.queueKey()},
		min(seenTTL, s.cfg.Retention).Milliseconds(), string(b), s.cfg.Retention.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", t.Kind, err)
	}
	return n == 1, nil
}

// schedule stores t to run at when.
func (s *Service) schedule(ctx context.Context, when time.Time, t task) error {
	if t.ID == "" {
		t.ID = randomID()
	}
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode task: %w", err)
	}
	if err := scheduleScript.Run(ctx, s.rdb, []string{s.dueKey()}, when.UnixMilli(), string(b), s.cfg.Retention.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("schedule %s for case %s: %w", t.Kind, t.Case, err)
	}
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// permanentError marks work that will never succeed (a malformed payload,
// a case that no longer exists): it is logged and dropped, not retried.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

func (s *Service) ensureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.queueKey(), group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	// A stream made here has no lifetime yet; one made by a task keeps its own.
	if err := s.rdb.ExpireNX(ctx, s.queueKey(), s.cfg.Retention).Err(); err != nil {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// poll moves due scheduled work into the stream until ctx ends. A Redis
// outage is logged when it starts and when it ends, not at every tick.
func (s *Service) poll(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	failures := 0
	for {
		switch err := s.moveDue(ctx); {
		case err != nil && ctx.Err() == nil:
			if failures == 0 {
				s.log.ErrorContext(ctx, "move due handoff work failed; retried quietly until it works", "err", err)
			}
			failures++
		case err == nil && failures > 0:
			s.log.InfoContext(ctx, "due handoff work moves again", "failures", failures)
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// moveDue moves what is due by the service's clock into the stream.
func (s *Service) moveDue(ctx context.Context) error {
	n, err := moveDue.Run(ctx, s.rdb, []string{s.dueKey(), s.queueKey()}, s.cfg.Now().UnixMilli()).Int()
	if err != nil {
		return fmt.Errorf("move due handoff work: %w", err)
	}
	if n > 0 {
		s.log.DebugContext(ctx, "due handoff work queued", "count", n)
	}
	return nil
}

// maxHeld bounds the tasks a consumer holds in its lanes; past it, reading
// waits for lanes to drain.
const maxHeld = 5000

// maxAttempts bounds how often a task is tried after temporary failures (a
// push LINE keeps refusing, a Slack outage): with the backoff, about 25
// minutes.
const maxAttempts = 12

// queued is a task read from the stream.
type queued struct {
	id string
	t  task
	// bad is a decode error: the entry is dropped.
	bad error
}

// lane is the ordered work of one case (or one thread, for staff replies).
type lane struct {
	key     string
	tasks   []queued
	running bool
}

// consumer reads the queue into lanes and works them.
type consumer struct {
	s    *Service
	name string

	mu    sync.Mutex
	lanes map[string]*lane
	ids   map[string]bool // the entries held in lanes
	held  int
	space chan struct{} // signalled when a lane finished tasks
	wg    sync.WaitGroup
}

// work is one consumer: it reads new entries (and, every half ClaimAfter,
// those a silent consumer left behind) into lanes until ctx ends, then lets
// the lanes finish the task at hand.
func (s *Service) work(ctx context.Context) {
	host, _ := os.Hostname()
	c := &consumer{s: s, name: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomID()[:6]),
		lanes: map[string]*lane{}, ids: map[string]bool{}, space: make(chan struct{}, 1)}
	var lastClaim, lastTouch time.Time
	// readFailures counts reads failed in a row: an outage is logged when
	// it starts and when it ends, not at every retry.
	readFailures := 0
	for ctx.Err() == nil {
		if c.full() {
			select {
			case <-ctx.Done():
			case <-c.space:
			}
			continue
		}
		now := s.cfg.Now()
		var (
			msgs []redis.XMessage
			err  error
		)
		if now.Sub(lastClaim) >= s.cfg.ClaimAfter/2 {
			lastClaim = now
			msgs, _, err = s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: s.queueKey(), Group: group, Consumer: c.name,
				MinIdle: s.cfg.ClaimAfter, Start: "0-0", Count: 100,
			}).Result()
		}
		if err == nil && len(msgs) == 0 {
			var streams []redis.XStream
			streams, err = s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: group, Consumer: c.name, Streams: []string{s.queueKey(), ">"},
				Count: 100, Block: s.cfg.PollInterval,
			}).Result()
			for _, st := range streams {
				msgs = append(msgs, st.Messages...)
			}
		}
		if now.Sub(lastTouch) >= s.cfg.ClaimAfter/3 {
			lastTouch = now
			c.touch(ctx)
		}
		if (err == nil || errors.Is(err, redis.Nil)) && readFailures > 0 {
			s.log.InfoContext(ctx, "handoff queue reads again", "failures", readFailures)
			readFailures = 0
		}
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if redis.HasErrorPrefix(err, "NOGROUP") {
				// Redis lost the stream (a restart without persistence): make it again.
				_ = s.ensureGroup(ctx)
				continue
			}
			if readFailures == 0 {
				s.log.ErrorContext(ctx, "read handoff queue failed; retried quietly until it works", "err", err)
			}
			readFailures++
			sleep(ctx, s.cfg.PollInterval)
			continue
		}
		for _, m := range msgs {
			c.add(ctx, m)
		}
	}
	c.wg.Wait()
}

func (c *consumer) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held >= maxHeld
}

// touch claims the consumer's held entries again, which resets their idle
// time: a task waiting in a lane (for its channel's turn, or after an
// error) must not look abandoned to another process.
func (c *consumer) touch(ctx context.Context) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.ids))
	for id := range c.ids {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for chunk := range slices.Chunk(ids, 500) {
		err := c.s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream: c.s.queueKey(), Group: group, Consumer: c.name, MinIdle: 0, Messages: chunk,
		}).Err()
		if err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil {
			c.s.log.WarnContext(ctx, "keep held handoff work", "err", err)
		}
	}
}

// add puts an entry in its lane and starts the lane if it is idle.
func (c *consumer) add(ctx context.Context, m redis.XMessage) {
	q := queued{id: m.ID}
	raw, _ := m.Values["t"].(string)
	if err := json.Unmarshal([]byte(raw), &q.t); err != nil {
		q.bad = fmt.Errorf("decode task: %w", err)
	}
	key := laneOf(q.t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[q.id] {
		return // claimed back while still held here
	}
	c.ids[q.id] = true
	l := c.lanes[key]
	if l == nil {
		l = &lane{key: key}
		c.lanes[key] = l
	}
	l.tasks = append(l.tasks, q)
	c.held++
	if !l.running {
		l.running = true
		c.wg.Go(func() { c.run(ctx, l) })
	}
}

// laneOf is the lane a task belongs to: its case, or for a staff reply the
// thread it was written in (a lookup would cost a round trip here).
func laneOf(t task) string {
	switch t.Kind {
	case kindEvent:
		var env struct {
			Event struct {
				Channel  string `json:"channel"`
				ThreadTS string `json:"thread_ts"`
				TS       string `json:"ts"`
			} `json:"event"`
		}
		_ = json.Unmarshal(t.Raw, &env)
		ts := env.Event.ThreadTS
		if ts == "" {
			ts = env.Event.TS
		}
		return "thread:" + env.Event.Channel + ":" + ts
	case kindInteraction:
		var p struct {
			Actions []struct {
				BlockID string `json:"block_id"`
			} `json:"actions"`
		}
		_ = json.Unmarshal(t.Raw, &p)
		if len(p.Actions) > 0 {
			if rest, ok := strings.CutPrefix(p.Actions[0].BlockID, blockPrefix); ok {
				id, _, _ := strings.Cut(rest, ":")
				return "case:" + id
			}
		}
		return "interactions"
	}
	if t.Case != "" {
		return "case:" + t.Case
	}
	return "other"
}

// run works a lane until it is empty (or ctx ends: what is left stays
// pending in the stream and is claimed again after ClaimAfter).
func (c *consumer) run(ctx context.Context, l *lane) {
	attempts := 0
	for {
		c.mu.Lock()
		if len(l.tasks) == 0 || ctx.Err() != nil {
			l.running = false
			if len(l.tasks) == 0 {
				delete(c.lanes, l.key)
			}
			c.mu.Unlock()
			return
		}
		head := l.tasks[0]
		c.mu.Unlock()

		done, err := c.handle(ctx, l, head)
		var perm permanentError
		switch {
		case err == nil:
		case errors.As(err, &perm) || errors.Is(err, errNoCase):
			c.s.log.ErrorContext(ctx, "handoff work dropped", "kind", head.t.Kind, "case", caseOf(head.t, err), "err", err)
		case ctx.Err() != nil:
			continue
		default:
			attempts++
			if attempts < c.s.cfg.attempts {
				d := c.s.cfg.retryPause(attempts)
				c.s.log.WarnContext(ctx, "handoff work failed, will retry", "kind", head.t.Kind, "case", caseOf(head.t, err),
					"attempt", attempts, "retry_in", d.String(), "err", err)
				sleep(ctx, d)
				continue
			}
			c.s.log.ErrorContext(ctx, "handoff work dropped after retries", "kind", head.t.Kind, "case", caseOf(head.t, err),
				"attempts", attempts, "err", err)
			c.s.gaveUp(ctx, head.t, err)
		}
		attempts = 0
		if len(done) == 0 {
			done = []queued{head}
		}
		c.finish(ctx, l, done)
	}
}

// backoff is the pause before the nth retry: doubling from a second up to
// five minutes, with jitter so that lanes do not retry in step.
func backoff(n int) time.Duration {
	d := min(time.Second<<min(n-1, 9), 5*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// handle does the lane's head task, or for relays every relay waiting at the
// head (see relay.go); it returns the tasks it did when more than the head.
func (c *consumer) handle(ctx context.Context, l *lane, head queued) ([]queued, error) {
	if head.bad != nil {
		return nil, permanent(head.bad)
	}
	if head.t.Kind == kindRelay {
		return c.s.relay(ctx, head.t.Case, func() []queued { return c.relays(l) })
	}
	return nil, c.s.handle(ctx, head.t)
}

// relays lists the relays to one case waiting at the head of the lane.
func (c *consumer) relays(l *lane) []queued {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []queued
	for _, q := range l.tasks {
		if q.bad != nil || q.t.Kind != kindRelay || q.t.Case != l.tasks[0].t.Case || len(out) == maxMerged {
			break
		}
		out = append(out, q)
	}
	return out
}

// finish acknowledges done tasks (deleting them from the stream) and takes
// them off the lane's head.
func (c *consumer) finish(ctx context.Context, l *lane, done []queued) {
	ids := make([]string, len(done))
	for i, q := range done {
		ids[i] = q.id
	}
	_, err := c.s.rdb.Pipelined(context.WithoutCancel(ctx), func(pipe redis.Pipeliner) error {
		pipe.XAck(ctx, c.s.queueKey(), group, ids...)
		pipe.XDel(ctx, c.s.queueKey(), ids...)
		return nil
	})
	if err != nil {
		// Left pending: claimed again later; the work is at-least-once.
		c.s.log.ErrorContext(ctx, "ack handoff work", "err", err)
	}
	c.mu.Lock()
	l.tasks = l.tasks[len(done):]
	c.held -= len(done)
	for _, q := range done {
		delete(c.ids, q.id)
	}
	c.mu.Unlock()
	select {
	case c.space <- struct{}{}:
	default:
	}
}

// handle does one task.
func (s *Service) handle(ctx context.Context, t task) error {
	switch t.Kind {
	case kindEvent:
		return s.handleEvent(ctx, t.Raw)
	case kindInteraction:
		return s.handleInteraction(ctx, t.Raw)
	case kindEscalate:
		return s.handleEscalation(ctx, t)
	case kindCheckin:
		return s.handleCheckin(ctx, t)
	case kindCard:
		return s.postCard(ctx, t.Case)
	case kindUrgent:
		return s.escalate(ctx, t)
	case kindForget:
		return s.forget(ctx, t.Case)
	case kindSuggest:
		return s.suggest(ctx, t)
	case kindCheck:
		return s.checkAsked(ctx, t)
	case kindUnsend:
		return s.unsend(ctx, t)
	case kindExpire:
		return s.handleExpiry(ctx, t)
	}
	return permanent(fmt.Errorf("unknown task kind %q", t.Kind))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
