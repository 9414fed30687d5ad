package stats

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a Recorder; the zero value of each field works.
type Options struct {
	// Prefix starts the keys ("tsunagu:" when empty).
	Prefix string
	// Location is the city's time zone, which decides an event's month
	// (Asia/Tokyo when nil).
	Location *time.Location
	// Buffer is how many events may wait to be written (4096 when zero);
	// past it, events are dropped and counted, never waited for.
	Buffer int
	// Log is told of write failures, once per run of failures; discarded when nil.
	Log *slog.Logger
}

// Recorder writes events' counters in the background. Record never waits
// and never fails: a case is handled the same whether Redis takes the
// counters or not. Run must be running for anything to be written.
type Recorder struct {
	rdb    redis.UniversalClient
	prefix string
	loc    *time.Location
	log    *slog.Logger
	queue  chan Event

	dropped atomic.Int64
	written atomic.Int64
}

// NewRecorder builds a recorder on rdb.
func NewRecorder(rdb redis.UniversalClient, o Options) *Recorder {
	if o.Prefix == "" {
		o.Prefix = "tsunagu:"
	}
	if o.Location == nil {
		o.Location = tokyo()
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{rdb: rdb, prefix: o.Prefix, loc: o.Location, log: o.Log, queue: make(chan Event, o.Buffer)}
}

// tokyo is Asia/Tokyo, or a fixed +09:00 where the zone database is missing.
func tokyo() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*3600)
}

// Record queues an event's counters; when the queue is full the event is
// dropped and counted (Dropped).
func (r *Recorder) Record(e Event) {
	if r == nil {
		return
	}
	select {
	case r.queue <- e:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many events were not counted: the queue was full or
// Redis refused the write.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Written is how many events were counted.
func (r *Recorder) Written() int64 { return r.written.Load() }

// writeTimeout bounds one write, so a Redis that hangs holds up only the
// counters.
const writeTimeout = 3 * time.Second

// maxBatch bounds the events one write carries.
const maxBatch = 256

// Run writes queued events until ctx ends, then writes what is left
// (within a couple of seconds) and returns.
func (r *Recorder) Run(ctx context.Context) {
	// A write under way finishes even as ctx ends: its events were taken
	// from the queue already.
	wctx := context.WithoutCancel(ctx)
	failing := false
	batch := make([]Event, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			r.drain(batch[:0], &failing)
			return
		case e := <-r.queue:
			batch = append(batch[:0], e)
		}
		batch = r.fill(batch)
		r.write(wctx, batch, &failing)
	}
}

// fill adds what else is queued, up to maxBatch, without waiting.
func (r *Recorder) fill(batch []Event) []Event {
	for len(batch) < maxBatch {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// drain writes what is queued at shutdown.
func (r *Recorder) drain(batch []Event, failing *bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		batch = r.fill(batch[:0])
		if len(batch) == 0 || ctx.Err() != nil {
			return
		}
		r.write(ctx, batch, failing)
	}
}

// write adds a batch's counters: summed per month and field, one HINCRBY
// each, in one pipeline.
func (r *Recorder) write(ctx context.Context, batch []Event, failing *bool) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	type field struct{ key, name string }
	sums := map[field]int64{}
	var order []field
	for _, e := range batch {
		key := Key(r.prefix, Month(e.At, r.loc))
		for _, f := range e.fields() {
			k := field{key, f}
			if sums[k] == 0 {
				order = append(order, k)
			}
			sums[k]++
		}
	}
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range order {
			p.HIncrBy(ctx, k.key, k.name, sums[k])
		}
		return nil
	})
	if err != nil {
		r.dropped.Add(int64(len(batch)))
		if !*failing {
			*failing = true
			r.log.WarnContext(ctx, "statistics not written; counting on, and saying so once until it works again",
				"events", len(batch), "err", err)
		}
		return
	}
	if *failing {
		*failing = false
		r.log.InfoContext(ctx, "statistics written again", "dropped_so_far", r.dropped.Load())
	}
	r.written.Add(int64(len(batch)))
}
