package handoff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Work from Slack (events, button presses) and scheduled work (escalation
// reminders, check-ins) goes through one Redis stream with a consumer group:
// it is stored before Slack gets its 200, survives a crash (a silent
// worker's entries are claimed again after ClaimAfter), and is removed only
// once done. Scheduled work waits in a sorted set scored by due time and a
// poller moves what is due into the stream. We chose this over hibiken/asynq:
// asynq keeps its own fixed "asynq:" key space (our prefix and hash tags
// would not apply), runs its own scheduler and processor goroutines, and
// brings protobuf and cron dependencies, for two kinds of delayed job that a
// sorted set and one Lua script cover.

// task is one unit of queued work.
type task struct {
	// Kind is event, interaction, escalate or checkin.
	Kind string `json:"k"`
	// Raw is the Slack payload for events and interactions.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Case is the case of scheduled work.
	Case string `json:"case,omitempty"`
	// Home is the home card's ts an escalation was armed for; a transfer
	// moves the card and the old reminder no longer applies.
	Home string `json:"home,omitempty"`
	// ID makes a scheduled task unique and derives its retry key.
	ID string `json:"id,omitempty"`
}

const (
	kindEvent       = "event"
	kindInteraction = "interaction"
	kindEscalate    = "escalate"
	kindCheckin     = "checkin"
)

const group = "handoff"

// All queue keys share the {handoff} hash tag: the Lua scripts touch
// several of them at once, which Redis Cluster allows only within one slot.
func (s *Service) queueKey() string { return s.cfg.KeyPrefix + "{handoff}:queue" }
func (s *Service) dueKey() string   { return s.cfg.KeyPrefix + "{handoff}:due" }
func (s *Service) seenKey(eventID string) string {
	return s.cfg.KeyPrefix + "{handoff}:seen:" + eventID
}

// enqueueOnce stores a task unless its dedupe key was seen: the check and
// the append are one script, so a failed append never leaves the event
// marked as seen (Slack's retry will then be taken).
var enqueueOnce = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 't', ARGV[2])
  return 1
end
return 0`)

// moveDue moves due scheduled tasks into the stream.
var moveDue = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 't', m)
  redis.call('ZREM', KEYS[1], m)
end
return #due`)

// seenTTL covers Slack's retries (three, over about an hour) with margin.
const seenTTL = 24 * time.Hour

// enqueue stores t; with a dedupeID it is stored only the first time.
// It reports whether the task was new.
func (s *Service) enqueue(ctx context.Context, t task, dedupeID string) (bool, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("encode task: %w", err)
	}
	if dedupeID == "" {
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.queueKey(), Values: []string{"t", string(b)}}).Err(); err != nil {
			return false, fmt.Errorf("enqueue %s: %w", t.Kind, err)
		}
		return true, nil
	}
	n, err := enqueueOnce.Run(ctx, s.rdb, []string{s.seenKey(dedupeID), s.queueKey()}, int(seenTTL/time.Second), string(b)).Int()
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
	if err := s.rdb.ZAdd(ctx, s.dueKey(), redis.Z{Score: float64(when.UnixMilli()), Member: string(b)}).Err(); err != nil {
		return fmt.Errorf("schedule %s for case %s: %w", t.Kind, t.Case, err)
	}
	return nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
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
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// poll moves due scheduled work into the stream until ctx ends.
func (s *Service) poll(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		n, err := moveDue.Run(ctx, s.rdb, []string{s.dueKey(), s.queueKey()}, s.cfg.Now().UnixMilli()).Int()
		if err != nil && ctx.Err() == nil {
			slog.ErrorContext(ctx, "move due handoff work", "err", err)
		} else if n > 0 {
			slog.DebugContext(ctx, "due handoff work queued", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// work is one consumer: it first takes over entries a silent consumer left
// behind, then reads new ones, and acknowledges each once handled.
func (s *Service) work(ctx context.Context, n int) {
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d-%d-%s", host, os.Getpid(), n, randomID()[:4])
	for ctx.Err() == nil {
		msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: s.queueKey(), Group: group, Consumer: consumer,
			MinIdle: s.cfg.ClaimAfter, Start: "0-0", Count: 10,
		}).Result()
		claimed := len(msgs) > 0
		if err == nil && len(msgs) == 0 {
			var streams []redis.XStream
			streams, err = s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: group, Consumer: consumer, Streams: []string{s.queueKey(), ">"},
				Count: 10, Block: s.cfg.PollInterval,
			}).Result()
			for _, st := range streams {
				msgs = append(msgs, st.Messages...)
			}
		}
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if strings.Contains(err.Error(), "NOGROUP") {
				// Redis lost the stream (a restart without persistence): make it again.
				_ = s.ensureGroup(ctx)
				continue
			}
			slog.ErrorContext(ctx, "read handoff queue", "err", err)
			sleep(ctx, s.cfg.PollInterval)
			continue
		}
		for _, m := range msgs {
			s.handleMessage(ctx, m, claimed)
		}
	}
}

// maxDeliveries bounds how often one entry is tried: a push LINE keeps
// refusing (a resident who blocked the account) must not loop for ever.
const maxDeliveries = 10

func (s *Service) handleMessage(ctx context.Context, m redis.XMessage, claimed bool) {
	raw, _ := m.Values["t"].(string)
	var t task
	err := json.Unmarshal([]byte(raw), &t)
	switch {
	case err != nil:
		err = permanent(fmt.Errorf("decode task: %w", err))
	case claimed && s.deliveries(ctx, m.ID) > maxDeliveries:
		err = permanent(fmt.Errorf("gave up after %d tries", maxDeliveries))
	default:
		err = s.handle(ctx, t)
	}
	var perm permanentError
	switch {
	case err == nil:
	case errors.As(err, &perm) || errors.Is(err, errNoCase):
		slog.ErrorContext(ctx, "handoff work dropped", "kind", t.Kind, "case", t.Case, "err", err)
	default:
		// Left pending: another consumer (or this one) takes it again after ClaimAfter.
		slog.ErrorContext(ctx, "handoff work failed, will retry", "kind", t.Kind, "case", t.Case, "err", err)
		return
	}
	if err := s.rdb.XAck(ctx, s.queueKey(), group, m.ID).Err(); err != nil {
		slog.ErrorContext(ctx, "ack handoff work", "err", err)
		return
	}
	_ = s.rdb.XDel(ctx, s.queueKey(), m.ID).Err()
}

// deliveries is how often the entry was handed to a consumer.
func (s *Service) deliveries(ctx context.Context, id string) int64 {
	p, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.queueKey(), Group: group, Start: id, End: id, Count: 1}).Result()
	if err != nil || len(p) == 0 {
		return 0
	}
	return p[0].RetryCount
}

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
