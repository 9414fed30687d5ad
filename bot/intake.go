package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Kind says what an intake entry asks of the workers.
type Kind uint8

// The kinds of entries.
const (
	// KindText is a text message; Text is what the resident wrote.
	KindText Kind = iota + 1
	// KindChoice is a quick-reply postback; Text is its data.
	KindChoice
	// KindEvent is anything else a resident did (follow, sticker, image…)
	// or a synthetic event (a case closed by staff); Event names it.
	KindEvent
	// KindUnfollow is a resident who blocked the account: they are erased.
	KindUnfollow
	// KindGroup is a message or a join in a group or room: the bot says that
	// consultations are one to one, and leaves.
	KindGroup
	// KindUnsend is a resident taking back a message (MessageID): staff
	// who have it in a case thread see it withdrawn.
	KindUnsend
)

// Entry is one event in the intake, as the webhook understood it: the SDK
// parses a LINE event once, in the webhook, and the workers read only this.
type Entry struct {
	// ID is LINE's webhookEventId, or "x:<hash of Key>" for synthetic events.
	ID   string
	Kind Kind
	// Source is "user", "group" or "room"; To is that user, group or room id.
	Source string
	To     string
	// Text is a message's text or a postback's data.
	Text string
	// Event names a KindEvent ("follow", "sticker", "case_closed"…).
	Event flows.Event
	// Token is the reply token, "" when the event has none.
	Token string
	// At is when the event happened (LINE's timestamp); it decides business
	// hours. Recv is when the intake accepted it; it ages the reply token.
	At, Recv time.Time
	// Key is the caller's idempotency key of a synthetic event; the retry
	// keys of its pushes derive from it.
	Key string
	// MessageID is LINE's id of the message (or of the message unsent).
	MessageID string
	// Standby is set for an event sent while another channel holds the
	// chat: it is stored and seen, and never answered.
	Standby bool

	// Set when read from the intake.
	StreamID string
	Shard    int
}

// entryVersion starts every encoded entry so a later layout can be told
// apart; version 1 entries (without message id and mode) are still read.
const entryVersion = 2

func (e *Entry) marshal() []byte {
	b := make(enc, 0, 64+len(e.ID)+len(e.To)+len(e.Text)+len(e.Token)+len(e.Key)+len(e.MessageID))
	b = append(b, entryVersion, byte(e.Kind))
	b = b.str(e.ID).str(e.Source).str(e.To).str(e.Text).str(string(e.Event)).str(e.Token).str(e.Key)
	b = b.int(e.At.UnixMilli()).int(e.Recv.UnixMilli())
	b = b.str(e.MessageID).bool(e.Standby)
	return b
}

func unmarshalEntry(b []byte) (Entry, error) {
	if len(b) < 2 || (b[0] != entryVersion && b[0] != 1) {
		return Entry{}, errCorrupt
	}
	e := Entry{Kind: Kind(b[1])}
	d := dec{b: b[2:]}
	e.ID, e.Source, e.To, e.Text = d.str(), d.str(), d.str(), d.str()
	e.Event, e.Token, e.Key = flows.Event(d.str()), d.str(), d.str()
	e.At, e.Recv = time.UnixMilli(d.int()), time.UnixMilli(d.int())
	if b[0] >= 2 {
		e.MessageID, e.Standby = d.str(), d.bool()
	}
	if d.err != nil {
		return Entry{}, d.err
	}
	return e, nil
}

// IntakeOptions configure NewIntake.
type IntakeOptions struct {
	// Prefix starts every key; "tsunagu:" when empty.
	Prefix string
	// Shards is the number of streams (8 when zero). A source always maps to
	// the same shard and a shard is worked by one worker at a time.
	Shards int
	// DedupeTTL is how long the events no resident record covers (groups,
	// rooms, synthetic events) are remembered; 72h when zero, longer than
	// LINE keeps redelivering.
	DedupeTTL time.Duration
	// Retention is the streams' lifetime, renewed by every add, and the
	// longest a dedupe mark lives (TSUNAGU_RETENTION); 30 days when zero.
	// A stream nobody wrote to for that long holds nothing worth keeping.
	Retention time.Duration
	// LeaseTTL is how long a worker owns a shard without renewing; 30s when zero.
	LeaseTTL time.Duration
	// AddTimeout bounds one round trip storing entries; 5s when zero (LINE
	// waits a little longer for the webhook's answer).
	AddTimeout time.Duration
	// WaitReplicas is how many replicas must hold an event before Add
	// returns (Redis WAIT); 0 does not wait. A master killed in the moment
	// after it acknowledged loses what its replicas had not received, and
	// LINE, told the event arrived, does not send it again.
	WaitReplicas int
	// WaitTimeout bounds that wait; 250ms when zero. Past it the event is
	// kept on the master alone, and that master is not waited on for 5s: a
	// dead replica must not slow the front door.
	WaitTimeout time.Duration
	// Log hears of events acknowledged before their replicas held them;
	// nothing is logged when nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Intake is the durable queue between the webhook and the workers: Redis
// Streams with one consumer group, sharded by event source.
type Intake struct {
	rdb redis.UniversalClient
	opt IntakeOptions

	// Concurrent Adds share round trips (see Add).
	mu    sync.Mutex
	queue []*addition
	busy  bool

	// unreplicated counts adds acknowledged before WaitReplicas held them.
	unreplicated atomic.Int64
	warnedAt     atomic.Int64 // unix seconds of the last log line about it
	// noWait holds, per master address, until when not to wait: a master
	// whose replicas fell short (after a failover it may have none) would
	// otherwise hold every add for the whole WaitTimeout.
	noWaitMu sync.Mutex
	noWait   map[string]time.Time
}

// skipWaitFor is how long a master whose replicas fell short is not waited on.
const skipWaitFor = 5 * time.Second

// addition is one Add waiting for its entries to be stored.
type addition struct {
	entries []Entry
	err     error
	done    chan struct{} // closed once stored, or failed
	lead    chan struct{} // signalled when this caller is to write the queue
}

const group = "workers"

// NewIntake returns an intake on rdb.
func NewIntake(rdb redis.UniversalClient, opt IntakeOptions) *Intake {
	if opt.Prefix == "" {
		opt.Prefix = "tsunagu:"
	}
	if opt.Shards <= 0 {
		opt.Shards = 8
	}
	if opt.DedupeTTL <= 0 {
		opt.DedupeTTL = 72 * time.Hour
	}
	if opt.Retention <= 0 {
		opt.Retention = 30 * 24 * time.Hour
	}
	opt.DedupeTTL = min(opt.DedupeTTL, opt.Retention)
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	if opt.AddTimeout <= 0 {
		opt.AddTimeout = 5 * time.Second
	}
	if opt.WaitTimeout <= 0 {
		opt.WaitTimeout = 250 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
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

// Keys of one shard share the hash tag {in:N}, so that a script can touch
// the stream and a dedupe mark together on Redis Cluster.
func (in *Intake) tag(shard int) string {
	return in.opt.Prefix + "{in:" + strconv.Itoa(shard) + "}:"
}
func (in *Intake) streamKey(shard int) string { return in.tag(shard) + "events" }
func (in *Intake) seenKey(shard int, id string) string {
	return in.tag(shard) + "seen:" + id
}
func (in *Intake) leaseKey(shard int) string { return in.tag(shard) + "lease" }

// Add stores entries durably; it returns only when every entry is stored.
// An error means some may not be: the caller answers 5xx so that LINE
// redelivers. A resident's event stored twice is recognised by the worker
// from the resident's record; the rest are deduplicated here.
//
// Concurrent Adds share round trips: one caller writes whatever is queued
// in one pipeline, and the Adds that come meanwhile wait and go together in
// the next (a group commit). A busy webhook costs Redis few round trips,
// and a quiet one waits for nothing. A waiting caller does not give up
// early: the round trip it waits for is bounded by AddTimeout.
func (in *Intake) Add(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	a := &addition{entries: entries, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	in.mu.Lock()
	in.queue = append(in.queue, a)
	lead := !in.busy
	in.busy = true
	in.mu.Unlock()
	if !lead {
		select {
		case <-a.done:
			return a.err
		case <-a.lead:
		}
	}
	in.write(ctx)
	<-a.done
	return a.err
}

// write stores what is queued, in one round trip, then hands the writing
// on to the next caller waiting, if any.
func (in *Intake) write(ctx context.Context) {
	in.mu.Lock()
	batch := in.queue
	in.queue = nil
	in.mu.Unlock()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.opt.AddTimeout)
	err := in.store(wctx, batch)
	cancel()
	for _, a := range batch {
		a.err = err
		close(a.done)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue) == 0 {
		in.busy = false
		return
	}
	in.queue[0].lead <- struct{}{}
}

// store writes the entries of a batch of Adds in one pipeline (one per
// master on a Redis Cluster when it waits for replicas).
func (in *Intake) store(ctx context.Context, batch []*addition) error {
	now := in.opt.Now()
	var entries []*Entry
	for _, a := range batch {
		for i := range a.entries {
			e := &a.entries[i]
			if e.Recv.IsZero() {
				e.Recv = now
			}
			if e.At.IsZero() {
				e.At = e.Recv
			}
			entries = append(entries, e)
		}
	}
	if in.opt.WaitReplicas <= 0 {
		return in.storeOn(ctx, in.rdb, entries)
	}
	cc, ok := in.rdb.(*redis.ClusterClient)
	if !ok {
		return in.storeOn(ctx, in.rdb, entries)
	}
	// WAIT counts the writes of its own connection, so each master gets its
	// entries and its WAIT in one pipeline of its own.
	type node struct {
		c       *redis.Client
		entries []*Entry
	}
	var nodes []*node
	byAddr := map[string]*node{}
	for _, e := range entries {
		c, err := cc.MasterForKey(ctx, in.streamKey(in.ShardOf(e.To)))
		if err != nil {
			return fmt.Errorf("intake add: find master: %w", err)
		}
		n := byAddr[c.Options().Addr]
		if n == nil {
			n = &node{c: c}
			byAddr[c.Options().Addr] = n
			nodes = append(nodes, n)
		}
		n.entries = append(n.entries, e)
	}
	for _, n := range nodes {
		if err := in.storeOn(ctx, n.c, n.entries); err != nil {
			return err
		}
	}
	return nil
}

// waitOn reports whether to wait for replicas of the master at addr.
func (in *Intake) waitOn(addr string) bool {
	if in.opt.WaitReplicas <= 0 {
		return false
	}
	in.noWaitMu.Lock()
	defer in.noWaitMu.Unlock()
	return !in.opt.Now().Before(in.noWait[addr])
}

// fellShort stops waiting on the master at addr for skipWaitFor.
func (in *Intake) fellShort(addr string) {
	in.noWaitMu.Lock()
	defer in.noWaitMu.Unlock()
	if in.noWait == nil {
		in.noWait = map[string]time.Time{}
	}
	in.noWait[addr] = in.opt.Now().Add(skipWaitFor)
}

// storeOn stores entries in one pipeline on rdb and, when asked, waits in
// the same pipeline (the same connection) until replicas hold them.
func (in *Intake) storeOn(ctx context.Context, rdb redis.UniversalClient, entries []*Entry) error {
	var wait *redis.Cmd
	addr := ""
	if c, ok := rdb.(*redis.Client); ok {
		addr = c.Options().Addr
	}
	waiting := in.waitOn(addr)
	err := pipelined(ctx, rdb, func(pipe redis.Pipeliner) error {
		touched := map[int]bool{}
		for _, e := range entries {
			shard := in.ShardOf(e.To)
			touched[shard] = true
			if e.Kind == KindGroup || e.Key != "" {
				pipe.EvalSha(ctx, addOnceScript.Hash(), []string{in.streamKey(shard), in.seenKey(shard, e.ID)},
					in.opt.DedupeTTL.Milliseconds(), e.marshal())
				continue
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: in.streamKey(shard), Values: []any{"e", e.marshal()}})
		}
		for shard := range touched {
			pipe.PExpire(ctx, in.streamKey(shard), in.opt.Retention)
		}
		if waiting {
			wait = pipe.Do(ctx, "wait", in.opt.WaitReplicas, in.opt.WaitTimeout.Milliseconds())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("intake add: %w", err)
	}
	if wait != nil {
		if got, err := wait.Int64(); err != nil || got < int64(in.opt.WaitReplicas) {
			in.shortfall(got)
			in.fellShort(addr)
		}
	}
	return nil
}

// shortfall notes events acknowledged before enough replicas held them: the
// front door stays open, and the operator hears of it once a minute at most.
func (in *Intake) shortfall(got int64) {
	n := in.unreplicated.Add(1)
	now := in.opt.Now().Unix()
	if last := in.warnedAt.Load(); in.opt.Log != nil && now-last >= 60 && in.warnedAt.CompareAndSwap(last, now) {
		in.opt.Log.Warn("intake: events stored before enough replicas held them", "replicas", got,
			"want", in.opt.WaitReplicas, "adds_so_far", n)
	}
}

// Unreplicated reports how many adds were acknowledged before WaitReplicas
// replicas held them.
func (in *Intake) Unreplicated() int64 { return in.unreplicated.Load() }

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
		ID: "x:" + hex.EncodeToString(sum[:12]), Kind: KindEvent, Event: ev,
		Source: "user", To: userID, Key: key,
	})
}

// Ping reports whether Redis answers.
func (in *Intake) Ping(ctx context.Context) error { return in.rdb.Ping(ctx).Err() }

// ensureGroup creates the shard's consumer group from the start of the
// stream, so entries added before the group existed are still worked.
func (in *Intake) ensureGroup(ctx context.Context, shard int) error {
	err := in.rdb.XGroupCreateMkStream(ctx, in.streamKey(shard), group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("intake group: %w", err)
	}
	// A stream made here has no lifetime yet; one made by an add keeps its own.
	if err := in.rdb.ExpireNX(ctx, in.streamKey(shard), in.opt.Retention).Err(); err != nil {
		return fmt.Errorf("intake group: %w", err)
	}
	return nil
}

// lease takes or renews the shard for owner: 2 when newly taken, 1 when
// renewed, 0 when someone else holds it.
func (in *Intake) lease(ctx context.Context, shard int, owner string) (int, error) {
	n, err := leaseScript.Run(ctx, in.rdb, []string{in.leaseKey(shard)}, owner, in.opt.LeaseTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("intake lease: %w", err)
	}
	return n, nil
}

// release gives the shard up if owner still holds it.
func (in *Intake) release(ctx context.Context, shard int, owner string) error {
	if err := releaseScript.Run(ctx, in.rdb, []string{in.leaseKey(shard)}, owner).Err(); err != nil {
		return fmt.Errorf("intake release: %w", err)
	}
	return nil
}

// claim moves every pending entry of the shard to consumer and says how many. It is called
// right after the lease was taken: the lease expiring is the timeout after
// which a crashed worker's entries are taken over, so no idle minimum is
// needed, and the entries keep their stream order.
func (in *Intake) claim(ctx context.Context, shard int, consumer string) (int, error) {
	start, n := "0-0", 0
	for {
		ids, next, err := in.rdb.XAutoClaimJustID(ctx, &redis.XAutoClaimArgs{
			Stream: in.streamKey(shard), Group: group, Consumer: consumer,
			MinIdle: 0, Start: start, Count: 1000,
		}).Result()
		if err != nil {
			return n, fmt.Errorf("intake claim: %w", err)
		}
		n += len(ids)
		if next == "0-0" || next == "" {
			return n, nil
		}
		start = next
	}
}

// read returns up to count new entries, waiting up to block for the first;
// or, when after is set, up to count of the consumer's own pending entries
// with ids after it ("0" for all), without waiting. Entries come oldest
// first. Commands that before adds to the pipeline are sent first, in the
// same round trip (the previous batch's acks): Redis runs them at once,
// before the read waits.
func (in *Intake) read(ctx context.Context, shard int, consumer string, after string, count int, block time.Duration, before func(redis.Pipeliner)) ([]Entry, error) {
	id := ">"
	if after != "" {
		id, block = after, -1
	}
	pipe := in.rdb.Pipeline()
	if before != nil {
		before(pipe)
	}
	cmd := pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{in.streamKey(shard), id},
		Count: int64(count), Block: block,
	})
	_, _ = pipe.Exec(ctx)
	res, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("intake read: %w", err)
	}
	var out []Entry
	var gone []string
	for _, s := range res {
		for _, m := range s.Messages {
			raw, _ := m.Values["e"].(string)
			e, err := unmarshalEntry([]byte(raw))
			if err != nil {
				// Deleted from the stream while pending, or not ours to read:
				// nothing can be done with it.
				gone = append(gone, m.ID)
				continue
			}
			e.StreamID, e.Shard = m.ID, shard
			out = append(out, e)
		}
	}
	if len(gone) > 0 {
		pipe := in.rdb.Pipeline()
		in.ackIDs(ctx, pipe, shard, gone)
		_, _ = pipe.Exec(ctx)
	}
	return out, nil
}

// ackIDs adds to pipe what finishes entries: acknowledged, and deleted from
// the stream so that the resident's words are not kept in Redis past their
// processing.
func (in *Intake) ackIDs(ctx context.Context, pipe redis.Pipeliner, shard int, ids []string) []redis.Cmder {
	return []redis.Cmder{
		pipe.XAck(ctx, in.streamKey(shard), group, ids...),
		pipe.XDel(ctx, in.streamKey(shard), ids...),
	}
}

// Backlog counts each shard's entries, in one round trip: those waiting
// for a worker and those being worked (an entry is deleted once handled).
func (in *Intake) Backlog(ctx context.Context) ([]int64, error) {
	cmds := make([]*redis.IntCmd, in.opt.Shards)
	_, err := in.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s := range cmds {
			cmds[s] = p.XLen(ctx, in.streamKey(s))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("intake backlog: %w", err)
	}
	out := make([]int64, len(cmds))
	for s, c := range cmds {
		out[s] = c.Val()
	}
	return out, nil
}
