package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Handoffs is what the workers need from the staff side (Slack). Every
// method records the work in Redis and returns at once: the staff side has
// its own workers to reach Slack, so a slow or failing Slack never holds
// back a resident's answer, nor a shard. Each is idempotent by key.
type Handoffs interface {
	// Open records a new case for the resident and returns its id; the same
	// key returns the same case. The case card is posted later.
	Open(ctx context.Context, userID string, h flows.Handoff, key string) (caseID string, err error)
	// Escalate marks an open case urgent (a crisis while a case is open).
	Escalate(ctx context.Context, caseID string, h flows.Handoff, key string) error
	// Relay passes the resident's words into the case thread: texts are
	// their messages in order, ids the LINE message ids of each ("" when
	// none), which a later Unsend names.
	Relay(ctx context.Context, caseID, key string, texts, ids []string) error
	// Unsend tells staff the resident took back a message relayed into the
	// case thread: the words are replaced there.
	Unsend(ctx context.Context, caseID, messageID, key string) error
	// Forget cuts the case from the resident, who erased their data: staff
	// can no longer reach them and the link to their LINE id is deleted.
	Forget(ctx context.Context, caseID, key string) error
	// Suggest tells staff of needs the resident's later words point to;
	// staff decide on transfers.
	Suggest(ctx context.Context, caseID string, categories []string, key string) error
	// CheckAsked tells staff that the safety check was asked about kind
	// while they have the case.
	CheckAsked(ctx context.Context, caseID, kind, key string) error
}

// replyTokenTTL is how long a reply token is worth trying. LINE documents
// no exact lifetime but refuses tokens after about a minute; past this the
// answer is pushed at once.
const replyTokenTTL = 50 * time.Second

// WorkerOptions configure NewWorkers.
type WorkerOptions struct {
	Intake   *Intake
	Store    *RedisStore
	Flow     *flows.Flow
	LINE     *LINE
	Handoffs Handoffs
	// Log receives event ids, types and case ids; never user ids or texts.
	Log *slog.Logger
	// Owner names this process in shard leases; random when empty.
	Owner string
	// Batch is how many entries a shard's worker takes at once (256 when zero).
	Batch int
	// Block is how long an idle worker waits for new entries in one read
	// (2s when zero); it also bounds how long shutdown waits for a reader.
	Block time.Duration
	// BatchTimeout bounds the work on one batch (2 minutes when zero). A
	// batch that runs longer than a third of the lease TTL renews the lease
	// as it goes, and stops if the lease was lost.
	BatchTimeout time.Duration
	// Backoff is the first pause before a failed resident (or batch) is
	// tried again (50ms when zero), doubled on each further failure up to 30s.
	Backoff time.Duration
	// AnswerTimeout bounds the sending of one resident's answers and staff
	// work in a batch (5s when zero, LINE's retries included): a resident
	// LINE is slow for is tried again later, and does not hold the batch.
	AnswerTimeout time.Duration
	// Limit is how fast a resident may write before the gentle note.
	Limit RateLimit
	// StaffRecordKept is set where the city keeps the staff's record in
	// Slack after an erasure (TSUNAGU_ERASE_SLACK=false), so that the
	// resident is told what is kept and where.
	StaffRecordKept bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Observer counts what the workers do; none when nil.
	Observer Observer
}

// Workers run the flow for every event in the intake: one worker per shard.
//
// Order: a resident's events all land in one shard (a stream), and a shard
// is worked by one worker in the whole deployment at a time, guarded by a
// lease in Redis. A worker reads a batch of entries (blocking while there
// is none), loads the records of its distinct residents in one round trip,
// steps each resident's events in stream order, saves every record in one
// round trip with a version check, sends the answers concurrently (crisis
// answers first), hands staff their work, and acknowledges the batch in the
// round trip of its next read. A resident whose answer could not be sent
// (LINE failing for them) waits, with whatever they write meanwhile, and is
// tried again with backoff, while the shard goes on with everyone else. A
// crashed worker's lease expires; the next owner claims its pending entries
// (XAUTOCLAIM) and finishes them first.
//
// Exactly-once effects: the session, the events applied to it and their
// side effects (the outbox) are saved together. An event the record
// already applied is not stepped again; the outbox is finished instead, and
// dropped at the ack. Pushes carry retry keys derived from the event id,
// which LINE refuses to repeat; staff work is deduplicated by key on the
// staff side. The remaining window is a crash between a reply and the ack:
// the reply token is then spent and the answer is pushed once more
// (at-least-once, on purpose: a resident in crisis must not lose the numbers).
type Workers struct {
	opt WorkerOptions
	// flow is the flow events are stepped with; SetFlow replaces it.
	flow atomic.Pointer[flows.Flow]
	// crash, set by tests, simulates a process dying at a point of a batch
	// ("step", "save", "send", "forget"): the worker stops at once, without
	// acking or giving up its lease.
	crash func(point string, e Entry) bool
}

// NewWorkers returns the workers; Run starts them.
func NewWorkers(opt WorkerOptions) *Workers {
	if opt.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		opt.Owner = "w-" + hex.EncodeToString(b[:])
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.Block <= 0 {
		opt.Block = 2 * time.Second
	}
	if opt.BatchTimeout <= 0 {
		opt.BatchTimeout = 2 * time.Minute
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 50 * time.Millisecond
	}
	if opt.AnswerTimeout <= 0 {
		opt.AnswerTimeout = 5 * time.Second
	}
	if opt.Log == nil {
		opt.Log = discard
	}
	if opt.Handoffs == nil {
		opt.Handoffs = NewLogHandoffs(opt.Log)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Observer == nil {
		opt.Observer = nopObserver{}
	}
	w := &Workers{opt: opt}
	w.flow.Store(opt.Flow)
	return w
}

// Flow is the flow events are stepped with now.
func (w *Workers) Flow() *flows.Flow { return w.flow.Load() }

// SetFlow makes the next events step with f (a reloaded flow); the event
// at hand finishes with the flow it started with.
func (w *Workers) SetFlow(f *flows.Flow) { w.flow.Store(f) }

// errCrashed stops a worker the way a killed process stops.
var errCrashed = errors.New("simulated crash")

// Run works the intake until ctx ends, then finishes the batch at hand,
// gives up its shard leases and returns.
func (w *Workers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for s := range w.opt.Intake.Shards() {
		wg.Go(func() { w.shard(ctx, s) })
	}
	wg.Wait()
	return nil
}

// shard is the worker of one shard: it holds the shard's lease, renewing it
// when due, and works batches until ctx ends.
func (w *Workers) shard(ctx context.Context, shard int) {
	in := w.opt.Intake
	consumer := w.opt.Owner + "-" + strconv.Itoa(shard)
	renew := in.opt.LeaseTTL / 3
	log := w.opt.Log.With("shard", shard)
	var (
		held    bool
		renewAt time.Time
		// pending is where the read of this consumer's own pending entries
		// (a previous owner's, claimed) has got to; "" once all were read.
		pending  = "0"
		failures int
		// readFailures counts reads failed in a row: an outage is logged
		// when it starts and when it ends, not at every retry.
		readFailures int
		// carry is the last batch's work still to acknowledge: it rides
		// with the next read.
		carry *acker
		// waiting are the residents (and chats) whose work failed: their
		// entries, and those that came after, wait here until their retry
		// is due, so that one resident's trouble holds up no one else.
		waiting = map[string]*waitingWork{}
	)
	defer func() {
		bg := context.WithoutCancel(ctx)
		if carry != nil {
			if err := carry.flush(bg); err != nil {
				log.Warn("last acks failed; those entries will be worked again", "err", err)
			}
		}
		if held {
			_ = in.release(bg, shard, consumer)
		}
	}()
	for ctx.Err() == nil {
		now := w.opt.Now()
		if !held || !now.Before(renewAt) {
			n, err := in.lease(ctx, shard, consumer)
			if err != nil {
				held = false
				if ctx.Err() == nil {
					log.Warn("shard lease failed", "err", err)
				}
				w.pause(ctx, w.backoff(&failures))
				continue
			}
			if n == 0 {
				// Another process works the shard; look again when its lease
				// would have lapsed had it died. What this worker finished
				// is still acknowledged, so that the other does not repeat it.
				held = false
				if carry != nil && carry.flush(ctx) == nil {
					carry = nil
				}
				clear(waiting) // the shard's new owner claims them
				w.pause(ctx, renew)
				continue
			}
			if n == 2 {
				// Taken over: make sure the group exists and claim what a
				// previous owner left pending, before any new entry.
				err := in.ensureGroup(ctx, shard)
				claimed := 0
				if err == nil {
					claimed, err = in.claim(ctx, shard, consumer)
				}
				if claimed > 0 {
					log.Info("shard taken over with entries another worker left", "entries", claimed)
				}
				if err != nil {
					log.Warn("shard takeover failed", "err", err)
					_ = in.release(ctx, shard, consumer)
					w.pause(ctx, w.backoff(&failures))
					continue
				}
				// What waited here is pending too: the pending read brings it back.
				clear(waiting)
				pending = "0"
			}
			held, renewAt = true, now.Add(renew)
		}
		block := min(w.opt.Block, max(renewAt.Sub(now), time.Millisecond))
		for _, ww := range waiting {
			block = min(block, max(ww.retryAt.Sub(now), time.Millisecond))
		}
		var acked func() error
		entries, err := in.read(ctx, shard, consumer, pending, w.opt.Batch, block, func(pipe redis.Pipeliner) {
			if carry != nil {
				acked = carry.ackTo(ctx, pipe)
			}
		})
		if acked != nil {
			if aerr := acked(); aerr != nil {
				// Kept, and sent again with the next read: acks repeat safely.
				log.Warn("acks failed; sent again", "err", aerr)
			} else {
				carry = nil
			}
		}
		if err != nil && redis.HasErrorPrefix(err, "NOGROUP") {
			// Redis lost its data (a restart without persistence): start again.
			err = in.ensureGroup(ctx, shard)
		}
		if err != nil {
			if ctx.Err() == nil && readFailures == 0 {
				log.Warn("shard read failed; retried quietly until it works", "err", err)
			}
			readFailures++
			// The read may have run in Redis and only its answer been lost
			// (a connection cut, a master killed and failed over): the
			// entries it handed to this consumer are pending, and no later
			// read of new entries brings them. Read the pending ones first
			// again, as after a takeover; what waited here is among them.
			clear(waiting)
			pending = "0"
			w.pause(ctx, w.backoff(&failures))
			continue
		}
		if readFailures > 0 {
			log.Info("shard reads again", "failures", readFailures)
			readFailures = 0
		}
		if pending != "" {
			// Each pending entry is read once; the next read goes on after it.
			if len(entries) == 0 {
				pending = ""
			} else {
				pending = entries[len(entries)-1].StreamID
			}
		}
		// Residents whose retry is due go first, with what they wrote since;
		// what others write while they wait, waits with them.
		var (
			work  []Entry
			tries = map[string]int{}
		)
		now = w.opt.Now()
		for to, ww := range waiting {
			if !now.Before(ww.retryAt) {
				work = append(work, ww.entries...)
				tries[to] = ww.tries
				delete(waiting, to)
			}
		}
		for _, e := range entries {
			if ww := waiting[e.To]; ww != nil {
				ww.entries = append(ww.entries, e)
				continue
			}
			work = append(work, e)
		}
		if len(work) == 0 {
			continue
		}
		// The batch at hand is finished even during shutdown.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.BatchTimeout)
		keeper := w.keepLease(bctx, cancel, shard, consumer, renew)
		ack, failed, err := w.batch(bctx, shard, work)
		if at := keeper.stop(); !at.IsZero() {
			renewAt = at.Add(renew)
		}
		cancel()
		if errors.Is(err, errCrashed) {
			held, carry = false, nil // a dead process releases nothing
			return
		}
		if carry != nil && ack != nil {
			ack.merge(carry)
		}
		if ack != nil {
			carry = ack
		}
		if err != nil {
			failed = failuresOf(work, err)
		}
		for _, f := range failed {
			n := tries[f.to] + 1
			d := min(w.opt.Backoff<<min(n-1, 10), 30*time.Second)
			waiting[f.to] = &waitingWork{entries: f.entries, retryAt: w.opt.Now().Add(d), tries: n}
			w.opt.Observer.EventsFailed(len(f.entries))
			if ctx.Err() == nil {
				log.Warn("work not done; tried again later", "entries", len(f.entries), "events", eventIDs(f.entries),
					"attempt", n, "retry_in", d.String(), "err", f.err)
			}
		}
		if err == nil {
			failures = 0
		}
	}
}

// eventIDs names a few entries' events for the log (ids only, never whose).
func eventIDs(entries []Entry) string {
	const most = 8
	var b strings.Builder
	for i, e := range entries {
		if i == most {
			fmt.Fprintf(&b, ",+%d", len(entries)-most)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(eventKey(e))
	}
	return b.String()
}

// waitingWork is a resident's (or chat's) entries waiting for a retry.
type waitingWork struct {
	entries []Entry
	retryAt time.Time
	tries   int
}

// leaseKeeper renews a shard's lease every interval while a batch runs (a
// long one: LINE slow to answer), and cancels the batch if the lease was
// lost, so that it never works on past the lease. Most batches end before
// its first renewal: it costs one timer, no goroutine.
type leaseKeeper struct {
	mu      sync.Mutex
	timer   *time.Timer
	last    time.Time // last renewal, zero if none
	stopped bool
}

func (w *Workers) keepLease(ctx context.Context, cancel context.CancelFunc, shard int, consumer string, interval time.Duration) *leaseKeeper {
	k := &leaseKeeper{}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.timer = time.AfterFunc(interval, func() {
		n, err := w.opt.Intake.lease(ctx, shard, consumer)
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.stopped {
			return
		}
		if err != nil || n != 1 {
			w.opt.Log.Warn("shard lease lost during a batch; the batch stops", "shard", shard, "err", err)
			cancel()
			return
		}
		k.last = w.opt.Now()
		k.timer.Reset(interval)
	})
	return k
}

// stop ends the keeping and says when the lease was last renewed.
func (k *leaseKeeper) stop() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.timer.Stop()
	return k.last
}

func (w *Workers) backoff(failures *int) time.Duration {
	*failures++
	return min(w.opt.Backoff<<min(*failures-1, 10), 30*time.Second)
}

func (w *Workers) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (w *Workers) crashed(point string, entries []Entry) bool {
	if w.crash == nil {
		return false
	}
	for _, e := range entries {
		if w.crash(point, e) {
			return true
		}
	}
	return false
}

// resident is one resident's part of a batch.
type resident struct {
	to      string
	entries []Entry
	rec     Record
	// redo is set when some entries were applied before (a crash after the
	// save, a failed send): the record's outbox is finished with the batch.
	redo bool
	// stepped is set when the record changed and is saved.
	stepped bool
	// items are the side effects to perform, in order.
	items []item
	// erase deletes the record at the ack (unfollow).
	erase bool
	// version is the record's version once saved.
	version uint64
	crisis  bool
	err     error
}

// batch works one batch of a shard's entries. It returns what is done and
// still to acknowledge, to be sent with the next read, and the residents
// whose work failed; an error fails the whole batch.
func (w *Workers) batch(ctx context.Context, shard int, entries []Entry) (*acker, []failure, error) {
	var (
		groups    []Entry
		residents []*resident
		byUser    = map[string]*resident{}
	)
	for _, e := range entries {
		if e.Kind == KindGroup {
			groups = append(groups, e)
			continue
		}
		r := byUser[e.To]
		if r == nil {
			r = &resident{to: e.To}
			byUser[e.To] = r
			residents = append(residents, r)
		}
		r.entries = append(r.entries, e)
	}
	if len(residents) > 0 {
		users := make([]string, len(residents))
		for i, r := range residents {
			users[i] = r.to
		}
		recs, err := w.opt.Store.loadAll(ctx, users)
		if err != nil {
			return nil, nil, err
		}
		for i, r := range residents {
			r.rec = recs[i]
			if err := w.step(ctx, r); err != nil {
				return nil, nil, err
			}
		}
	}
	if w.crashed("step", entries) {
		return nil, nil, errCrashed
	}
	if err := w.save(ctx, residents); err != nil {
		return nil, nil, err
	}
	if w.crashed("save", entries) {
		return nil, nil, errCrashed
	}
	return w.perform(ctx, shard, entries, residents, groups)
}

// step runs the resident's new events through the flow, in order, and
// gathers what they ask for. Events the record already applied are not
// stepped again: the record's outbox is finished instead.
func (w *Workers) step(ctx context.Context, r *resident) error {
	var old []item
	if len(r.rec.Outbox) > 0 {
		var err error
		if old, err = unmarshalOutbox(r.rec.Outbox); err != nil {
			w.opt.Log.Error("outbox unreadable; its side effects are dropped", "err", err)
		}
	}
	for _, e := range r.entries {
		if r.rec.Seen(e.ID) {
			r.redo = true
			continue
		}
		if e.Standby && e.Kind != KindUnfollow && e.Kind != KindUnsend {
			// Another channel holds the chat: the event is seen (a
			// redelivery is not answered later either) but not stepped.
			r.rec.see(e.ID, e.At, w.opt.Intake.opt.DedupeTTL)
			r.stepped = true
			w.opt.Log.Info("standby event stored; not answered", "event", e.ID)
			continue
		}
		it, err := w.stepOne(ctx, r, e)
		if err != nil {
			return err
		}
		r.rec.see(e.ID, e.At, w.opt.Intake.opt.DedupeTTL)
		r.stepped = true
		r.crisis = r.crisis || it.crisis
		if len(it.replies) > 0 || len(it.staff) > 0 || it.erase {
			r.items = append(r.items, it)
		}
	}
	if r.redo {
		for _, it := range old {
			r.crisis = r.crisis || it.crisis
			if it.erase && !r.stepped {
				r.erase = true
			}
		}
		r.items = append(old, r.items...)
	}
	return nil
}

// eventKey names an event for retry and staff keys.
func eventKey(e Entry) string {
	if e.Key != "" {
		return e.Key
	}
	return e.ID
}

func input(e Entry) (flows.Input, bool) {
	in := flows.Input{Now: e.At}
	switch e.Kind {
	case KindText:
		in.Kind, in.Text = flows.InputText, e.Text
	case KindChoice:
		in.Kind, in.Text = flows.InputChoice, e.Text
	case KindEvent:
		in.Kind, in.Event = flows.InputEvent, e.Event
	default:
		return in, false
	}
	return in, true
}

// stepOne steps one event and returns its outbox item. A new case is opened
// here, during the step, so that its id is in the session this batch saves.
func (w *Workers) stepOne(ctx context.Context, r *resident, e Entry) (item, error) {
	log := eventLog{w.opt.Log, e.ID}
	key := eventKey(e)
	it := item{event: e.ID, key: key, token: e.Token, recv: e.Recv.UnixMilli()}
	before := r.rec.Session
	if e.Kind == KindUnfollow {
		// Blocking the account erases the resident: their cases are cut from
		// them first, through the outbox so that a crash cannot lose it, and
		// the record is deleted at the ack. Nothing is sent.
		r.rec.Session, r.erase, it.erase = flows.Session{}, true, true
		it.staff = forgets(before, key)
		log.Info("resident unfollowed; session erased", "cases", len(it.staff))
		return it, nil
	}
	if e.Kind == KindUnsend {
		// Taking a message back changes nothing in the conversation; staff
		// who have it in a thread see it withdrawn. The session is kept.
		for i, c := range casesOf(before) {
			it.staff = append(it.staff, staffTask{op: opUnsend, caseID: c, ids: []string{e.MessageID}, key: key + ":unsend:" + strconv.Itoa(i)})
		}
		log.Info("resident unsent a message", "cases", len(it.staff))
		return it, nil
	}
	in, ok := input(e)
	in.StaffRecordKept = w.opt.StaffRecordKept
	if !ok {
		log.Warn("event of an unknown kind skipped", "kind", int(e.Kind))
		return it, nil
	}
	r.erase = false
	if !e.Recv.IsZero() {
		w.opt.Observer.IntakeLag(w.opt.Now().Sub(e.Recv))
	}
	over, note := w.opt.Limit.count(&r.rec.rate, e.At)
	flow := w.Flow()
	s, actions := flow.Step(before, in)
	for i, a := range actions {
		switch a := a.(type) {
		case flows.Reply:
			it.replies = append(it.replies, a)
		case flows.Handoff:
			it.crisis = it.crisis || a.Crisis != ""
			if a.Crisis != "" {
				w.opt.Observer.Crisis(a.Crisis)
			}
			if s.Case != "" {
				it.staff = append(it.staff, staffTask{op: opEscalate, caseID: s.Case, key: key + ":escalate:" + strconv.Itoa(i),
					urgent: a.Urgent, crisis: a.Crisis, categories: a.Categories, text: a.Checked})
				log.Info("case escalated", "case", s.Case, "crisis", a.Crisis)
				continue
			}
			id, err := w.opt.Handoffs.Open(ctx, e.To, a, key+":open:"+strconv.Itoa(i))
			if err != nil {
				return item{}, fmt.Errorf("open case: %w", err)
			}
			s.Case = id
			home := "general"
			if len(a.Categories) > 0 {
				home = a.Categories[0]
			}
			w.opt.Observer.Handoff(home, a.Urgent || a.Crisis != "")
			log.Info("case handed off", "case", id, "urgent", a.Urgent, "crisis", a.Crisis,
				"categories", strings.Join(a.Categories, ","))
		case flows.Relay:
			c := a.Case
			if c == "" {
				c = s.Case
			}
			if c == "" {
				log.Warn("relay without a case; skipped")
				continue
			}
			if over && mergeRelay(r.items, &it, c, a.Text, e.MessageID) {
				log.Info("relay merged into the last one (resident over the rate limit)", "case", c)
				continue
			}
			it.staff = append(it.staff, staffTask{op: opRelay, caseID: c, texts: []string{a.Text}, ids: []string{e.MessageID},
				key: key + ":relay:" + strconv.Itoa(i)})
			log.Info("relay to the case thread", "case", c)
		case flows.Erase:
			// Saving the fresh session rewrites the whole record, which is
			// the erase here; the cases still link to the resident.
			it.staff = append(it.staff, forgets(before, key)...)
			log.Info("resident asked to erase; session erased", "cases", len(casesOf(before)))
		case flows.SetLocale:
			// The session carries the locale; nothing else to do.
		case flows.Check:
			// The safety check goes out first in its batch, like a crisis
			// answer; staff who have the case are told it was asked.
			it.crisis = true
			w.opt.Observer.SafetyCheck(a.Kind)
			if s.Case != "" && before.HandedOff {
				it.staff = append(it.staff, staffTask{op: opCheck, caseID: s.Case, crisis: a.Kind, key: key + ":check:" + strconv.Itoa(i)})
			}
			log.Info("safety check asked", "case", s.Case, "kind", a.Kind)
		case flows.Retriage:
			c := a.Case
			if c == "" {
				c = s.Case
			}
			if c != "" {
				it.staff = append(it.staff, staffTask{op: opSuggest, caseID: c, categories: a.Categories, key: key + ":suggest:" + strconv.Itoa(i)})
			}
		default:
			log.Warn("flow action not handled; ignored", "action", fmt.Sprintf("%T", a))
		}
	}
	if note {
		it.replies = append(it.replies, flows.Reply{Text: slowDownText(flow, s.Locale)})
		log.Info("resident over the rate limit; gentle note added")
	}
	r.rec.Session = s
	return it, nil
}

// eventLog logs with an event's id; cheaper than a logger made per event
// with With, which formats its attributes up front.
type eventLog struct {
	log *slog.Logger
	id  string
}

func (l eventLog) Info(msg string, args ...any) { l.log.Info(msg, append(args, "event", l.id)...) }
func (l eventLog) Warn(msg string, args ...any) { l.log.Warn(msg, append(args, "event", l.id)...) }

// mergeRelay adds text to the last relay to the same case made earlier in
// this batch, for a resident writing faster than the limit: their words
// all reach staff, in fewer relays (each message stays one line of it, so
// that an unsend can still find it).
func mergeRelay(earlier []item, it *item, caseID, text, id string) bool {
	last := func(tasks []staffTask) *staffTask {
		for i := len(tasks) - 1; i >= 0; i-- {
			if tasks[i].op == opRelay {
				if tasks[i].caseID == caseID {
					return &tasks[i]
				}
				return nil
			}
		}
		return nil
	}
	t := last(it.staff)
	for i := len(earlier) - 1; t == nil && i >= 0; i-- {
		t = last(earlier[i].staff)
	}
	if t == nil {
		return false
	}
	t.texts = append(t.texts, text)
	t.ids = append(t.ids, id)
	return true
}

// casesOf lists the cases that link to the resident: the open one and the
// closed one kept until retention (its link to the LINE id is kept too).
func casesOf(s flows.Session) []string {
	var ids []string
	for _, id := range []string{s.Case, s.PrevCase} {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func forgets(s flows.Session, key string) []staffTask {
	var out []staffTask
	for i, c := range casesOf(s) {
		out = append(out, staffTask{op: opForget, caseID: c, key: key + ":forget:" + strconv.Itoa(i)})
	}
	return out
}

// save stores every stepped record in one round trip, each with its outbox
// and a version check.
func (w *Workers) save(ctx context.Context, residents []*resident) error {
	cmds := make([]*redis.Cmd, len(residents))
	changed := false
	for _, r := range residents {
		r.version = r.rec.Version
		changed = changed || r.stepped
	}
	if !changed {
		return nil
	}
	err := pipelined(ctx, w.opt.Store.rdb, func(pipe redis.Pipeliner) error {
		for i, r := range residents {
			if !r.stepped {
				continue
			}
			c, err := w.opt.Store.saveTo(ctx, pipe, r.to, &r.rec, marshalOutbox(r.items))
			if err != nil {
				return err
			}
			cmds[i] = c
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save sessions: %w", err)
	}
	for i, c := range cmds {
		if c == nil {
			continue
		}
		n, err := c.Int64()
		if err != nil {
			return fmt.Errorf("save session: %w", err)
		}
		if n < 0 {
			// Only the shard's lease holder writes records: another worker
			// took the shard over. Its worker will finish these entries.
			return fmt.Errorf("save session: %w", ErrConflict)
		}
		residents[i].version = uint64(n)
	}
	return nil
}

// perform sends every resident's answers and hands staff their work,
// concurrently across residents and in order for each: residents given a
// crisis verdict first, before any other answer of the batch. Group and
// room chats are told the service is one to one, and left. What is done is
// acknowledged as it completes, a few at a time (see acker), so that a
// crash repeats few answers; the rest is returned, to be acknowledged with
// the next read. What failed stays pending.
func (w *Workers) perform(ctx context.Context, shard int, entries []Entry, residents []*resident, groups []Entry) (*acker, []failure, error) {
	ack := &acker{w: w, shard: shard, pending: len(residents) + len(groups)}
	run := func(r *resident) {
		if r.err = w.performResident(ctx, r); r.err == nil {
			ack.done(ctx, r, nil)
		} else {
			ack.done(ctx, nil, nil)
		}
	}
	var wg sync.WaitGroup
	for _, r := range residents {
		if r.crisis {
			wg.Go(func() { run(r) })
		}
	}
	wg.Wait()
	for _, r := range residents {
		if !r.crisis {
			wg.Go(func() { run(r) })
		}
	}
	groupErrs := make([]error, len(groups))
	for i, e := range groups {
		wg.Go(func() {
			if groupErrs[i] = w.leaveGroup(ctx, e); groupErrs[i] == nil {
				ack.done(ctx, nil, &groups[i])
			} else {
				ack.done(ctx, nil, nil)
			}
		})
	}
	wg.Wait()
	if w.crashed("send", entries) {
		return nil, nil, errCrashed
	}
	var failed []failure
	for _, r := range residents {
		if errors.Is(r.err, errCrashed) {
			return nil, nil, errCrashed
		}
		if r.err != nil {
			failed = append(failed, failure{to: r.to, entries: r.entries, err: r.err})
		}
	}
	for i, err := range groupErrs {
		if err != nil {
			failed = append(failed, failure{to: groups[i].To, entries: groups[i : i+1], err: err})
		}
	}
	if err := ack.takeErr(); err != nil {
		// The work is done; its acks are kept and sent again with the next read.
		w.opt.Log.Warn("acks failed; sent again", "shard", shard, "err", err)
	}
	return ack, failed, nil
}

// failure is a resident's (or a chat's) part of a batch whose work did not
// get done: their entries wait, and are tried again later, while the
// others' go on.
type failure struct {
	to      string
	entries []Entry
	err     error
}

// failuresOf is the whole of a batch failing (Redis unreachable), resident by resident.
func failuresOf(entries []Entry, err error) []failure {
	var out []failure
	at := map[string]int{}
	for _, e := range entries {
		i, ok := at[e.To]
		if !ok {
			i = len(out)
			at[e.To] = i
			out = append(out, failure{to: e.To, err: err})
		}
		out[i].entries = append(out[i].entries, e)
	}
	return out
}

func (w *Workers) performResident(ctx context.Context, r *resident) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.AnswerTimeout)
	defer cancel()
	for _, it := range r.items {
		if len(it.replies) > 0 {
			token := it.token
			if w.opt.Now().Sub(time.UnixMilli(it.recv)) > replyTokenTTL {
				token = ""
			}
			err := w.opt.LINE.Answer(ctx, r.to, token, it.key, it.replies)
			if err != nil && temporary(err) {
				return err
			}
			if err != nil {
				w.opt.Log.Error("answer refused by LINE; not retried", "event", it.event, "err", err)
			}
		}
		for _, t := range it.staff {
			if err := w.hand(ctx, t); err != nil {
				return err
			}
			if t.op == opForget && w.crashed("forget", r.entries) {
				return errCrashed
			}
		}
	}
	return nil
}

// hand gives one piece of work to the staff side.
func (w *Workers) hand(ctx context.Context, t staffTask) error {
	var err error
	switch t.op {
	case opEscalate:
		err = w.opt.Handoffs.Escalate(ctx, t.caseID, t.handoff(), t.key)
	case opRelay:
		err = w.opt.Handoffs.Relay(ctx, t.caseID, t.key, t.texts, t.ids)
	case opUnsend:
		for _, id := range t.ids {
			if err = w.opt.Handoffs.Unsend(ctx, t.caseID, id, t.key); err != nil {
				break
			}
		}
	case opForget:
		err = w.opt.Handoffs.Forget(ctx, t.caseID, t.key)
		if err == nil {
			w.opt.Log.Info("case cut from the resident", "case", t.caseID)
		}
	case opSuggest:
		err = w.opt.Handoffs.Suggest(ctx, t.caseID, t.categories, t.key)
	case opCheck:
		err = w.opt.Handoffs.CheckAsked(ctx, t.caseID, t.crisis, t.key)
	default:
		w.opt.Log.Warn("unknown staff work skipped", "op", int(t.op))
	}
	if err != nil {
		return fmt.Errorf("staff work on case %s: %w", t.caseID, err)
	}
	return nil
}

// leaveGroup answers a message or join in a group or room with the notice
// that consultations are one to one, then leaves.
func (w *Workers) leaveGroup(ctx context.Context, e Entry) error {
	if e.Standby {
		w.opt.Log.Info("standby "+e.Source+" event stored; not answered, not left", "event", e.ID)
		return nil
	}
	token := e.Token
	if w.opt.Now().Sub(e.Recv) > replyTokenTTL {
		token = ""
	}
	flow := w.Flow()
	text := flow.Text("group_notice", flow.Locale())
	err := w.opt.LINE.Answer(ctx, e.To, token, e.ID, []flows.Reply{{Text: text}})
	if err != nil && temporary(err) {
		return err
	}
	if err := w.opt.LINE.Leave(ctx, e.Source, e.To); err != nil {
		if temporary(err) {
			return err
		}
		w.opt.Log.Warn("leave refused by LINE", "event", e.ID, "err", err)
	}
	w.opt.Log.Info("left a "+e.Source+" chat", "event", e.ID)
	return nil
}

// acker acknowledges a batch's finished work: entries acknowledged and
// deleted from the stream, outboxes dropped, unfollowed records deleted.
// While the rest of a batch is still being sent, what is done is
// acknowledged at once, one round trip at a time (what finishes meanwhile
// waits for the next: a group commit), so that a crash repeats as few
// answers as possible; the batch's last ones ride with the next read.
type acker struct {
	w     *Workers
	shard int

	mu        sync.Mutex
	residents []*resident
	groups    []*Entry
	n         int
	err       error
	// pending counts the batch's residents and chats still being performed;
	// flushing is set while one of them sends the acks.
	pending  int
	flushing bool
}

// done is told that a resident's or a chat's work ended: r or g is set
// when it succeeded, neither when it failed.
func (a *acker) done(ctx context.Context, r *resident, g *Entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending--
	switch {
	case r != nil:
		a.residents = append(a.residents, r)
		a.n += len(r.entries)
	case g != nil:
		a.groups = append(a.groups, g)
		a.n++
	}
	for a.pending > 0 && !a.flushing && a.n > 0 {
		a.flushing = true
		a.mu.Unlock()
		err := a.flush(ctx)
		a.mu.Lock()
		a.flushing = false
		if err != nil {
			a.err = errors.Join(a.err, err)
		}
	}
}

// takeErr returns the errors of the flushes made so far, once.
func (a *acker) takeErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.err
	a.err = nil
	return err
}

// merge adds what other still has to acknowledge (an earlier batch's acks
// that failed) to a's queue.
func (a *acker) merge(other *acker) {
	other.mu.Lock()
	rs, gs, n := other.residents, other.groups, other.n
	other.mu.Unlock()
	a.mu.Lock()
	a.residents = append(a.residents, rs...)
	a.groups = append(a.groups, gs...)
	a.n += n
	a.mu.Unlock()
}

// flush acknowledges what is queued, in one round trip of its own.
func (a *acker) flush(ctx context.Context) error {
	pipe := a.w.opt.Store.rdb.Pipeline()
	check := a.ackTo(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	return check()
}

// ackTo adds the queued acknowledgements to pipe; after the pipe ran,
// check reports whether they were done, and puts them back in the queue if
// not (they repeat safely).
func (a *acker) ackTo(ctx context.Context, pipe redis.Pipeliner) (check func() error) {
	a.mu.Lock()
	residents, groups, n := a.residents, a.groups, a.n
	a.residents, a.groups, a.n = nil, nil, 0
	a.mu.Unlock()
	if len(residents) == 0 && len(groups) == 0 {
		return func() error { return nil }
	}
	var ids []string
	for _, r := range residents {
		for _, e := range r.entries {
			ids = append(ids, e.StreamID)
		}
	}
	for _, g := range groups {
		ids = append(ids, g.StreamID)
	}
	w := a.w
	acks := w.opt.Intake.ackIDs(ctx, pipe, a.shard, ids)
	var (
		finishes []*resident
		fcmds    []redis.Cmder
	)
	for _, r := range residents {
		if r.version > 0 && (r.erase || len(r.items) > 0) {
			fcmds = append(fcmds, w.opt.Store.finishTo(ctx, pipe, r.to, r.version, r.erase))
			finishes = append(finishes, r)
		}
	}
	return func() error {
		var err error
		for _, c := range acks {
			err = errors.Join(err, c.Err())
		}
		if err == nil {
			var again []*resident
			for i, c := range fcmds {
				if isNoScript(c.Err()) {
					again = append(again, finishes[i])
				} else {
					err = errors.Join(err, c.Err())
				}
			}
			if len(again) > 0 {
				// Redis lost its scripts since they were loaded: load them
				// and finish those records again.
				err = errors.Join(err, pipelined(ctx, w.opt.Store.rdb, func(p redis.Pipeliner) error {
					for _, r := range again {
						w.opt.Store.finishTo(ctx, p, r.to, r.version, r.erase)
					}
					return nil
				}))
			}
		}
		if err == nil {
			w.opt.Observer.EventsProcessed(len(ids))
		}
		if err != nil {
			a.mu.Lock()
			a.residents = append(a.residents, residents...)
			a.groups = append(a.groups, groups...)
			a.n += n
			a.mu.Unlock()
			return fmt.Errorf("intake ack: %w", err)
		}
		return nil
	}
}
