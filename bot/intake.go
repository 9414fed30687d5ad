package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// TypeSynthetic is the Entry type of events the service makes itself (a case
// closed in Slack), processed in the resident's order like LINE's own.
const TypeSynthetic = "tsunagu.event"

// Entry is one event in the intake: what the worker needs to route it, and
// the raw LINE event JSON that the SDK parses again in the worker.
type Entry struct {
	// ID is LINE's webhookEventId, or "x:<hash of key>" for synthetic events.
	ID string
	// Type is LINE's event type ("message", "follow"…) or TypeSynthetic.
	Type string
	// Source is "user", "group" or "room"; To is that user, group or room id.
	Source string
	To     string
	// Raw is the event as LINE sent it; empty for synthetic events.
	Raw []byte
	// Key is the caller's idempotency key and Event the input, for synthetic events.
	Key   string
	Event flows.Event
	// At is when the intake accepted the event.
	At time.Time

	// Set when read from the intake.
	StreamID string
	Shard    int
}

// IntakeOptions configure NewIntake.
type IntakeOptions struct {
	// Prefix starts every key; "tsunagu:" when empty.
	Prefix string
	// Shards is the number of streams (16 when zero). A source always maps to
	// the same shard and a shard is worked by one worker at a time.
	Shards int
	// DedupeTTL is how long a webhookEventId is remembered; 72h when zero,
	// longer than LINE keeps redelivering.
	DedupeTTL time.Duration
	// LeaseTTL is how long a worker owns a shard without renewing; 30s when zero.
	LeaseTTL time.Duration
}

// Intake is the durable queue between the webhook and the workers: Redis
// Streams with one consumer group, sharded by event source.
type Intake struct {
	rdb redis.UniversalClient
	opt IntakeOptions
}

const group = "workers"

// NewIntake returns an intake on rdb.
func NewIntake(rdb redis.UniversalClient, opt IntakeOptions) *Intake {
	if opt.Prefix == "" {
		opt.Prefix = "tsunagu:"
	}
	if opt.Shards <= 0 {
		opt.Shards = 16
	}
	if opt.DedupeTTL <= 0 {
		opt.DedupeTTL = 72 * time.Hour
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	return &Intake{rdb: rdb, opt: opt}
}

// Shards is the number of shards.
func (in *Intake) Shards() int { return in.opt.Shards }

// ShardOf is the shard of a source id.
func (in *Intake) ShardOf(to string) int {
	h := fnv.New32a()
	h.Write([]byte(to))
	return int(h.Sum32() % uint32(in.opt.Shards))
}

// Keys of one shard share the hash tag {in:N} so that a script can touch
// the stream and the dedupe mark together on Redis Cluster.
func (in *Intake) tag(shard int) string {
	return in.opt.Prefix + "{in:" + strconv.Itoa(shard) + "}:"
}
func (in *Intake) streamKey(shard int) string { return in.tag(shard) + "events" }
func (in *Intake) seenKey(shard int, id string) string {
	return in.tag(shard) + "seen:" + id
}
func (in *Intake) marksKey(shard int, id string) string {
	return in.tag(shard) + "done:" + id
}
func (in *Intake) leaseKey(shard int) string { return in.tag(shard) + "lease" }

// addScript appends the entry unless its id was seen. XADD runs before the
// dedupe mark is set: Lua scripts are not rolled back, so if XADD fails the
// mark does not exist and LINE's redelivery is taken; if SET fails after
// XADD, the worst is a duplicate entry, which the worker recognises.
var addScript = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return 1
`

// Add stores entries durably; it returns only when every entry is stored or
// was already seen. An error means some may not be: the caller answers 5xx
// so that LINE redelivers, and the dedupe marks make that safe.
func (in *Intake) Add(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	pipe := in.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(entries))
	for i, e := range entries {
		shard := in.ShardOf(e.To)
		at := e.At
		if at.IsZero() {
			at = time.Now()
		}
		cmds[i] = pipe.Eval(ctx, addScript,
			[]string{in.streamKey(shard), in.seenKey(shard, e.ID)},
			in.opt.DedupeTTL.Milliseconds(),
			"id", e.ID, "type", e.Type, "src", e.Source, "to", e.To,
			"raw", e.Raw, "key", e.Key, "ev", string(e.Event), "at", at.UnixMilli())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("intake add: %w", err)
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return fmt.Errorf("intake add: %w", err)
		}
	}
	return nil
}

// Enqueue adds a synthetic event for a resident (EventCaseClosed from the
// staff side), processed in that resident's order. key makes it idempotent:
// the same key is enqueued once, and replies are pushed with retry keys
// derived from it.
func (in *Intake) Enqueue(ctx context.Context, userID, key string, ev flows.Event) error {
	if userID == "" || key == "" {
		return errors.New("intake enqueue: userID and key are required")
	}
	sum := sha256.Sum256([]byte(key))
	return in.Add(ctx, Entry{
		ID: "x:" + hex.EncodeToString(sum[:12]), Type: TypeSynthetic,
		Source: "user", To: userID, Key: key, Event: ev,
	})
}

// Ping reports whether Redis answers.
func (in *Intake) Ping(ctx context.Context) error { return in.rdb.Ping(ctx).Err() }

// ensureGroup creates the shard's consumer group from the start of the
// stream, so entries added before the group existed are still worked.
func (in *Intake) ensureGroup(ctx context.Context, shard int) error {
	err := in.rdb.XGroupCreateMkStream(ctx, in.streamKey(shard), group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("intake group: %w", err)
	}
	return nil
}

// leaseScript takes a free lease or renews one the owner already holds.
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// lease takes or renews the shard for owner: 2 when newly taken, 1 when
// renewed, 0 when someone else holds it.
func (in *Intake) lease(ctx context.Context, shard int, owner string) (int, error) {
	n, err := leaseScript.Run(ctx, in.rdb, []string{in.leaseKey(shard)}, owner, in.opt.LeaseTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("intake lease: %w", err)
	}
	return n, nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// release gives the shard up if owner still holds it.
func (in *Intake) release(ctx context.Context, shard int, owner string) error {
	if err := releaseScript.Run(ctx, in.rdb, []string{in.leaseKey(shard)}, owner).Err(); err != nil {
		return fmt.Errorf("intake release: %w", err)
	}
	return nil
}

// claim moves every pending entry of the shard to consumer. It is called
// right after the lease was taken: the lease expiring is the timeout after
// which a crashed worker's entries are taken over, so no idle minimum is
// needed, and the entries keep their stream order.
func (in *Intake) claim(ctx context.Context, shard int, consumer string) error {
	start := "0-0"
	for {
		_, next, err := in.rdb.XAutoClaimJustID(ctx, &redis.XAutoClaimArgs{
			Stream: in.streamKey(shard), Group: group, Consumer: consumer,
			MinIdle: 0, Start: start, Count: 100,
		}).Result()
		if err != nil {
			return fmt.Errorf("intake claim: %w", err)
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
}

// read returns the consumer's own pending entries when pending is true,
// else new entries, oldest first, without blocking.
func (in *Intake) read(ctx context.Context, shard int, consumer string, pending bool) ([]Entry, error) {
	id := ">"
	if pending {
		id = "0"
	}
	res, err := in.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{in.streamKey(shard), id},
		Count: 16, Block: -1,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("intake read: %w", err)
	}
	var out []Entry
	for _, s := range res {
		for _, m := range s.Messages {
			if m.Values == nil {
				// Deleted from the stream while pending: nothing left to do.
				_ = in.rdb.XAck(ctx, in.streamKey(shard), group, m.ID).Err()
				continue
			}
			out = append(out, entryFrom(m, shard))
		}
	}
	return out, nil
}

func entryFrom(m redis.XMessage, shard int) Entry {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	ms, _ := strconv.ParseInt(s("at"), 10, 64)
	return Entry{
		ID: s("id"), Type: s("type"), Source: s("src"), To: s("to"),
		Raw: []byte(s("raw")), Key: s("key"), Event: flows.Event(s("ev")),
		At: time.UnixMilli(ms), StreamID: m.ID, Shard: shard,
	}
}

// ack finishes an entry: acknowledged, and deleted from the stream so that
// the resident's words are not kept in Redis past their processing.
func (in *Intake) ack(ctx context.Context, e Entry) error {
	pipe := in.rdb.TxPipeline()
	pipe.XAck(ctx, in.streamKey(e.Shard), group, e.StreamID)
	pipe.XDel(ctx, in.streamKey(e.Shard), e.StreamID)
	pipe.Del(ctx, in.marksKey(e.Shard, e.ID))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("intake ack: %w", err)
	}
	return nil
}

// marks returns which side effects of an entry are already done.
func (in *Intake) marks(ctx context.Context, e Entry) (map[string]string, error) {
	m, err := in.rdb.HGetAll(ctx, in.marksKey(e.Shard, e.ID)).Result()
	if err != nil {
		return nil, fmt.Errorf("intake marks: %w", err)
	}
	return m, nil
}

// mark records that a side effect of an entry is done.
func (in *Intake) mark(ctx context.Context, e Entry, step, value string) error {
	pipe := in.rdb.TxPipeline()
	pipe.HSet(ctx, in.marksKey(e.Shard, e.ID), step, value)
	pipe.PExpire(ctx, in.marksKey(e.Shard, e.ID), in.opt.DedupeTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("intake mark: %w", err)
	}
	return nil
}
