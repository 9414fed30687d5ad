package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

func user(i int) string { return fmt.Sprintf("U%031x", 0xb0b0000+i) }

// TestCrisisIsAnsweredFirst queues thirty residents' greetings and then
// one resident's crisis on the same shard: the crisis answer is the first
// thing LINE receives from the batch.
func TestCrisisIsAnsweredFirst(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	for i := range 30 {
		r.post(textEvent(fmt.Sprint("01JHELLO", i), user(i), fmt.Sprint("rt-", i), "こんにちは"))
	}
	r.post(textEvent("01JCRISIS", alice, "rt-crisis", "もう死にたい"))
	r.workers("w", nil)
	r.eventually("every answer", func() bool { return len(r.fake.Sent()) == 31 && r.backlog() == 0 })
	if first := r.fake.Sent()[0]; first.ReplyToken != "rt-crisis" {
		t.Errorf("first answer was %s, want the crisis answer", first.ReplyToken)
	}
}

// relayLog records what the staff side was handed.
type relayLog struct {
	Handoffs
	mu     sync.Mutex
	relays []string
	ids    []string
	unsent []string
}

func (h *relayLog) Relay(ctx context.Context, caseID, key string, texts, ids []string) error {
	h.mu.Lock()
	h.relays = append(h.relays, strings.Join(texts, "\n"))
	h.ids = append(h.ids, ids...)
	h.mu.Unlock()
	return h.Handoffs.Relay(ctx, caseID, key, texts, ids)
}

func (h *relayLog) Unsend(ctx context.Context, caseID, messageID, key string) error {
	h.mu.Lock()
	h.unsent = append(h.unsent, caseID+" "+messageID)
	h.mu.Unlock()
	return h.Handoffs.Unsend(ctx, caseID, messageID, key)
}

func (h *relayLog) texts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.relays...)
}

// TestFastResidentGetsOneNote: a resident with an open case who writes
// faster than the limit gets one gentle note, and every word reaches staff,
// in order, in fewer relays.
func TestFastResidentGetsOneNote(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	staff := &relayLog{Handoffs: r.handoffs}
	r.openCase(staff)
	before := len(r.fake.Sent())
	for i := range 10 {
		r.post(textEvent(fmt.Sprint("01JFAST", i), alice, fmt.Sprint("rt-fast-", i), fmt.Sprint("words ", i)))
	}
	w := NewWorkers(WorkerOptions{Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line, Handoffs: staff,
		Log: r.log, Owner: "w", Block: 20 * time.Millisecond, Limit: RateLimit{N: 3, Per: time.Minute}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	r.eventually("the flood worked", func() bool { return r.backlog() == 0 })
	notes := 0
	for _, c := range r.fake.Sent()[before:] {
		if strings.Contains(strings.Join(c.Texts(), "\n"), slowDownText(r.flow, "ja")) {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("%d gentle notes, want 1", notes)
	}
	relays := staff.texts()
	all := strings.Join(relays, "\n")
	last := -1
	for i := range 10 {
		at := strings.Index(all, fmt.Sprint("words ", i))
		if at <= last {
			t.Fatalf("words %d missing or out of order in the relays %q", i, relays)
		}
		last = at
	}
	if len(relays) >= 10 {
		t.Errorf("%d relays for 10 messages over the limit, want them merged", len(relays))
	}
}

// manualClock is a worker clock that moves only when told.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// leaseCounter counts the lease scripts a client runs.
type leaseCounter struct{ n atomic.Int64 }

func (h *leaseCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *leaseCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *leaseCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 1 && (a[1] == leaseScript.Hash()) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// TestLeaseIsRenewedWhenDue drives the workers' clock by hand: however many
// batches a worker runs, it renews its shard's lease only once a third of
// the lease's life has passed.
func TestLeaseIsRenewedWhenDue(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1, leaseTTL: time.Hour})
	leases := &leaseCounter{}
	r.rdb.AddHook(leases)
	clock := &manualClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	w := NewWorkers(WorkerOptions{Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line, Handoffs: r.handoffs,
		Log: r.log, Owner: "w", Block: 10 * time.Millisecond, Now: clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for i := range 5 {
		r.post(textEvent(fmt.Sprint("01JLEASE", i), user(i), fmt.Sprint("rt-", i), "こんにちは"))
		r.eventually("the answer", func() bool { return len(r.fake.Sent()) == i+1 })
	}
	if n := leases.n.Load(); n != 1 {
		t.Errorf("%d lease calls for 5 batches before renewal was due, want 1 (taking the shard)", n)
	}
	clock.Advance(20 * time.Minute) // a third of the hour and more
	r.eventually("the renewal", func() bool { return leases.n.Load() == 2 })
	r.post(textEvent("01JLEASE-after", user(9), "rt-after", "こんにちは"))
	r.eventually("the answer", func() bool { return len(r.fake.Sent()) == 6 })
	if n := leases.n.Load(); n != 2 {
		t.Errorf("%d lease calls, want 2", n)
	}
}

// TestAnswersDoNotWaitForSlack runs the workers with the real staff side
// while Slack refuses every post for a long while: residents with open
// cases flood their threads and another writes a crisis; every answer
// reaches LINE and the intake empties while the relays wait on the staff
// side's queue.
func TestAnswersDoNotWaitForSlack(t *testing.T) {
	r := newRig(t, rigOptions{shards: 2})
	st := newStaffSide(t, r)
	caseID := r.openCase(st.svc)
	st.card(caseID)
	st.fake.RateLimit("chat.postMessage", 1_000_000, 3600) // Slack: wait an hour, every time
	for i := range 25 {
		r.post(textEvent(fmt.Sprint("01JFLOOD", i), alice, fmt.Sprint("rt-f", i), fmt.Sprint("flood ", i)))
	}
	var crisis []string
	for i := range 8 {
		tok := fmt.Sprint("rt-crisis-", i)
		crisis = append(crisis, tok)
		r.post(textEvent(fmt.Sprint("01JCRISIS", i), user(i), tok, "もう死にたい"))
	}
	r.startWorkers("w", st.svc, nil)
	r.eventually("the intake emptied", func() bool { return r.backlog() == 0 })
	answered := map[string]bool{}
	for _, c := range r.fake.Sent() {
		answered[c.ReplyToken] = true
	}
	for _, tok := range crisis {
		if !answered[tok] {
			t.Errorf("crisis answer %s not sent while Slack was refusing posts", tok)
		}
	}
	home := st.card(caseID)
	if n := st.countInThread(home, "flood"); n != 0 {
		t.Errorf("%d relays reached the thread while Slack refused every post", n)
	}
}

// slowOpen is a staff side whose Open takes its time, or waits until the
// batch is stopped when hold is nil.
type slowOpen struct {
	Handoffs
	hold      <-chan time.Time
	cancelled atomic.Bool
}

func (s *slowOpen) Open(ctx context.Context, userID string, h flows.Handoff, key string) (string, error) {
	if s.hold == nil {
		<-ctx.Done()
		s.cancelled.Store(true)
		return "", ctx.Err()
	}
	<-s.hold
	return s.Handoffs.Open(ctx, userID, h, key)
}

// TestLongBatchKeepsItsLease: a batch that outlasts the lease renews it as
// it goes and finishes; one whose lease another worker took stops.
func TestLongBatchKeepsItsLease(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(fmt.Sprint("lost=", lost), func(t *testing.T) {
			r := newRig(t, rigOptions{shards: 1, leaseTTL: 300 * time.Millisecond})
			staff := &slowOpen{Handoffs: r.handoffs}
			if !lost {
				staff.hold = time.After(time.Second) // three lease lives
			}
			w := NewWorkers(WorkerOptions{Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line, Handoffs: staff,
				Log: r.log, Owner: "w", Block: 20 * time.Millisecond, Backoff: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = w.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			r.post(textEvent("01JLONG", alice, "rt-1", "人と話したい"))
			lease := r.intake.leaseKey(0)
			if lost {
				r.eventually("the worker holds the shard", func() bool { return r.rdb.Get(ctx, lease).Val() == "w-0" })
				r.rdb.Set(ctx, lease, "another-process", time.Hour)
				r.eventually("the batch stopped", func() bool { return staff.cancelled.Load() })
				if n := len(r.fake.Calls("")); n != 0 {
					t.Errorf("%d LINE calls from a batch that lost its lease", n)
				}
				return
			}
			r.eventually("the answer after the long batch", func() bool { return len(r.fake.Sent()) == 1 && r.backlog() == 0 })
			if owner := r.rdb.Get(ctx, lease).Val(); owner != "w-0" {
				t.Errorf("lease held by %q after the long batch, want the worker's", owner)
			}
		})
	}
}

// TestOneResidentsTroubleHoldsUpNoOne: LINE keeps failing the answers to
// one resident; the others on the same shard are answered meanwhile, and
// the first is answered in the end, in order, once.
func TestOneResidentsTroubleHoldsUpNoOne(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	failures := make([]int, 12) // three rounds of LINE's four tries
	for i := range failures {
		failures[i] = http.StatusInternalServerError
	}
	r.fake.FailReply("rt-stuck", failures...)
	r.post(textEvent("01JSTUCK", alice, "rt-stuck", "こんにちは"))
	r.post(textEvent("01JSTUCK2", alice, "rt-stuck-2", "母の介護のことで"))
	r.workers("w", nil)
	for i := range 5 {
		r.post(textEvent(fmt.Sprint("01JOTHER", i), user(i), fmt.Sprint("rt-other-", i), "こんにちは"))
	}
	r.eventually("every answer", func() bool { return len(r.fake.Sent()) == 7 && r.backlog() == 0 })
	order := map[string]int{}
	for i, c := range r.fake.Sent() {
		order[c.ReplyToken] = i
	}
	for i := range 5 {
		if order[fmt.Sprint("rt-other-", i)] > order["rt-stuck"] {
			t.Errorf("resident %d answered only after the resident LINE kept failing", i)
		}
	}
	if order["rt-stuck"] > order["rt-stuck-2"] {
		t.Error("the stuck resident's answers came out of order")
	}
	// Both messages came in one batch: stepped once, saved once, however
	// often their answers were tried.
	rec, _ := r.store.Load(context.Background(), alice)
	if rec.Version != 1 {
		t.Errorf("stuck resident's session saved %d times, want once", rec.Version)
	}
}
