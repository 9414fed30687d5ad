package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Handoffs is what the workers need from the staff side (Slack).
type Handoffs interface {
	// Open creates a case for the resident and returns its id; the same key
	// returns the same case.
	Open(ctx context.Context, userID string, h flows.Handoff, key string) (caseID string, err error)
	// Escalate marks an open case urgent (a crisis while a case is open).
	Escalate(ctx context.Context, caseID string, h flows.Handoff, key string) error
	// Relay passes the resident's words into the case thread; idempotent by key.
	Relay(ctx context.Context, caseID, text, key string) error
	// Forget cuts the case from the resident, who erased their data: staff
	// can no longer reach them and the link to their LINE id is deleted.
	// Idempotent by key.
	Forget(ctx context.Context, caseID, key string) error
}

// replyTokenTTL is how long a reply token is worth trying. LINE documents
// no exact lifetime but refuses tokens after about a minute; past this the
// answer is pushed at once.
const replyTokenTTL = 50 * time.Second

// WorkerOptions configure NewWorkers.
type WorkerOptions struct {
	Intake   *Intake
	Store    SessionStore
	Flow     *flows.Flow
	LINE     *LINE
	Handoffs Handoffs
	// Log receives event ids, types and case ids; never user ids or texts.
	Log *slog.Logger
	// Workers is the number of goroutines (4 when zero).
	Workers int
	// Owner names this process in shard leases; random when empty.
	Owner string
	// Poll is the pause when there is nothing to do (50ms when zero).
	Poll time.Duration
	// EventTimeout bounds the work on one event (20s when zero); it must stay
	// below the lease TTL so that no other worker takes the shard meanwhile.
	EventTimeout time.Duration
}

// Workers run the flow for every event in the intake.
//
// Order: a resident's events all land in one shard (a stream), and a shard
// is worked by one goroutine in the whole deployment at a time, guarded by
// a lease in Redis. Within a shard, entries are handled one by one in
// stream order and the next is read only after the previous was acked or
// has failed (it is then retried first). A crashed worker's lease expires;
// the next owner claims its pending entries (XAUTOCLAIM) and finishes them
// before reading new ones.
//
// Exactly-once effects: the session, the id of the event applied to it and
// that event's side effects (the outbox) are saved together with a version
// check. A redelivered event whose id is the record's last event is not
// stepped again; its outbox is finished instead, skipping what the intake's
// per-event marks say is done. Pushes carry retry keys derived from the
// event id, which LINE refuses to repeat. The remaining window is a crash
// between a successful reply and its mark: the reply token is then spent
// and the answer is pushed once more (at-least-once, on purpose: a resident
// in crisis must not lose the numbers).
type Workers struct {
	opt WorkerOptions
	// crash, set by tests, simulates a process dying at a point of the
	// processing ("step", "save", "send", "forget"): the goroutine stops at once,
	// without acking or giving up its lease.
	crash func(point string, e Entry) bool
}

// NewWorkers returns a worker pool; Run starts it.
func NewWorkers(opt WorkerOptions) *Workers {
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		opt.Owner = "w-" + hex.EncodeToString(b[:])
	}
	if opt.Poll <= 0 {
		opt.Poll = 50 * time.Millisecond
	}
	if opt.EventTimeout <= 0 {
		opt.EventTimeout = 20 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Handoffs == nil {
		opt.Handoffs = NewLogHandoffs(opt.Log)
	}
	return &Workers{opt: opt}
}

// errLeaseLost means another worker took the shard over.
var errLeaseLost = errors.New("shard lease lost")

// errCrashed stops a goroutine the way a killed process stops.
var errCrashed = errors.New("simulated crash")

// Run works the intake until ctx ends, then finishes the event at hand,
// gives up its shard leases and returns.
func (w *Workers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 0; i < w.opt.Workers; i++ {
		var shards []int
		for s := i; s < w.opt.Intake.Shards(); s += w.opt.Workers {
			shards = append(shards, s)
		}
		if len(shards) == 0 {
			continue
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			w.loop(ctx, w.opt.Owner+"-"+strconv.Itoa(n), shards)
		}(i)
	}
	wg.Wait()
	return nil
}

type shardState struct {
	held      bool
	lastLease time.Time
	retryAt   time.Time
	failures  int
}

func (w *Workers) loop(ctx context.Context, consumer string, shards []int) {
	in := w.opt.Intake
	state := make(map[int]*shardState, len(shards))
	for _, s := range shards {
		state[s] = &shardState{}
	}
	renew := in.opt.LeaseTTL / 3
	bg := context.WithoutCancel(ctx)
	defer func() {
		for s, st := range state {
			if st.held {
				_ = in.release(bg, s, consumer)
			}
		}
	}()
	for ctx.Err() == nil {
		busy := false
		for _, s := range shards {
			if ctx.Err() != nil {
				return
			}
			st := state[s]
			now := time.Now()
			if now.Sub(st.lastLease) >= renew {
				n, err := in.lease(ctx, s, consumer)
				if err != nil {
					if ctx.Err() == nil {
						w.opt.Log.Warn("shard lease failed", "shard", s, "err", err)
					}
					st.held = false
					continue
				}
				st.lastLease = now
				st.held = n > 0
				if n == 2 {
					// Taken over: make sure the group exists and claim what a
					// previous owner left pending, before any new entry.
					if err := in.ensureGroup(ctx, s); err == nil {
						err = in.claim(ctx, s, consumer)
					}
					if err != nil {
						w.opt.Log.Warn("shard takeover failed", "shard", s, "err", err)
						st.lastLease = time.Time{}
						continue
					}
				}
			}
			if !st.held || now.Before(st.retryAt) {
				continue
			}
			n, err := w.work(ctx, s, consumer)
			if errors.Is(err, errCrashed) {
				state = nil // a dead process releases nothing
				return
			}
			if err != nil {
				st.failures++
				d := min(w.opt.Poll<<min(st.failures, 8), 30*time.Second)
				st.retryAt = time.Now().Add(d)
				if ctx.Err() == nil {
					w.opt.Log.Warn("shard paused after an error", "shard", s, "retry_in", d.String(), "err", err)
				}
				continue
			}
			st.failures = 0
			busy = busy || n > 0
		}
		if !busy {
			select {
			case <-ctx.Done():
			case <-time.After(w.opt.Poll):
			}
		}
	}
}

// work handles the shard's entries: this consumer's pending ones first
// (retries and claimed ones), else new ones. It stops at the first failure
// so that a resident's later event never overtakes an earlier one.
func (w *Workers) work(ctx context.Context, shard int, consumer string) (int, error) {
	in := w.opt.Intake
	entries, err := in.read(ctx, shard, consumer, true)
	if err == nil && len(entries) == 0 {
		entries, err = in.read(ctx, shard, consumer, false)
	}
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		// Redis lost its data (restart without persistence): start again.
		if gerr := in.ensureGroup(ctx, shard); gerr != nil {
			return 0, gerr
		}
		entries, err = in.read(ctx, shard, consumer, false)
	}
	if err != nil {
		return 0, err
	}
	for i, e := range entries {
		if ctx.Err() != nil {
			return i, nil
		}
		if i > 0 {
			// Renew before each event so a slow batch never outlives the lease.
			if n, err := in.lease(ctx, shard, consumer); err != nil || n == 0 {
				return i, errors.Join(errLeaseLost, err)
			}
		}
		// The event at hand is finished even during shutdown.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.EventTimeout)
		err := w.process(ectx, e)
		if err == nil {
			err = in.ack(ectx, e)
		}
		cancel()
		if err != nil {
			return i, err
		}
	}
	return len(entries), nil
}

func (w *Workers) crashed(point string, e Entry) bool {
	return w.crash != nil && w.crash(point, e)
}

// process handles one entry. An error leaves it pending to be tried again;
// events that can never succeed are logged and count as done.
func (w *Workers) process(ctx context.Context, e Entry) error {
	log := w.opt.Log.With("event", e.ID, "type", e.Type)
	if e.Type == TypeSynthetic {
		return w.resident(ctx, log, e, flows.Input{Kind: flows.InputEvent, Event: e.Event, Now: e.At}, "", e.Key)
	}
	ev, err := webhook.UnmarshalEvent(e.Raw)
	if err != nil {
		log.Warn("event dropped: not understood")
		return nil
	}
	if e.Source == "group" || e.Source == "room" {
		return w.group(ctx, log, e, replyToken(ev))
	}
	now := e.At
	var in flows.Input
	switch ev := ev.(type) {
	case webhook.MessageEvent:
		now = eventTime(ev.Timestamp, now)
		in = messageInput(ev.Message)
	case webhook.PostbackEvent:
		now = eventTime(ev.Timestamp, now)
		data := ""
		if ev.Postback != nil {
			data = ev.Postback.Data
		}
		in = flows.Input{Kind: flows.InputChoice, Text: data}
	case webhook.FollowEvent:
		now = eventTime(ev.Timestamp, now)
		in = flows.Input{Kind: flows.InputEvent, Event: flows.EventFollow}
	case webhook.UnfollowEvent:
		return w.unfollow(ctx, log, e)
	default:
		log.Info("event skipped")
		return nil
	}
	in.Now = now
	token := replyToken(ev)
	if time.Since(e.At) > replyTokenTTL {
		token = ""
	}
	return w.resident(ctx, log, e, in, token, e.ID)
}

func eventTime(ms int64, fallback time.Time) time.Time {
	if ms <= 0 {
		return fallback
	}
	return time.UnixMilli(ms)
}

// messageInput maps a LINE message to a flow input; a message type the SDK
// does not know still reaches the flow, as a non-text event.
func messageInput(m webhook.MessageContentInterface) flows.Input {
	switch m := m.(type) {
	case webhook.TextMessageContent:
		return flows.Input{Kind: flows.InputText, Text: m.Text}
	case webhook.StickerMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventSticker}
	case webhook.ImageMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventImage}
	case webhook.VideoMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventVideo}
	case webhook.AudioMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventAudio}
	case webhook.FileMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventFile}
	case webhook.LocationMessageContent:
		return flows.Input{Kind: flows.InputEvent, Event: flows.EventLocation}
	}
	return flows.Input{Kind: flows.InputEvent, Event: flows.Event("message")}
}

func replyToken(ev webhook.EventInterface) string {
	switch ev := ev.(type) {
	case webhook.MessageEvent:
		return ev.ReplyToken
	case webhook.PostbackEvent:
		return ev.ReplyToken
	case webhook.FollowEvent:
		return ev.ReplyToken
	case webhook.JoinEvent:
		return ev.ReplyToken
	}
	return ""
}

// outbox is what an applied event still has to do, saved with the session.
type outbox struct {
	Replies  []flows.Reply `json:"r,omitempty"`
	Handoffs []handoffTask `json:"h,omitempty"`
	Relays   []flows.Relay `json:"l,omitempty"`
	// Forget are the cases to cut from a resident who erased their data.
	// They are read from the session before the erase, which is the last
	// place that knows them.
	Forget []string `json:"f,omitempty"`
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

// handoffTask is a handoff to perform; Case is the case that was open when
// the flow asked for it (escalate it), or empty (open a new one). It is
// decided at step time so a redelivery never mistakes its own new case for
// an open one.
type handoffTask struct {
	Handoff flows.Handoff `json:"h"`
	Case    string        `json:"k,omitempty"`
}

// resident runs one input through the flow for a resident and performs
// what it asks. key names the event for retry and idempotency keys.
func (w *Workers) resident(ctx context.Context, log *slog.Logger, e Entry, in flows.Input, token, key string) error {
	ob, err := w.apply(ctx, log, e, func(before flows.Session) (flows.Session, outbox) {
		s, actions := w.opt.Flow.Step(before, in)
		var ob outbox
		for _, a := range actions {
			switch a := a.(type) {
			case flows.Reply:
				ob.Replies = append(ob.Replies, a)
			case flows.Handoff:
				ob.Handoffs = append(ob.Handoffs, handoffTask{Handoff: a, Case: s.Case})
			case flows.Relay:
				ob.Relays = append(ob.Relays, a)
			case flows.Erase:
				// Saving the fresh session rewrites the whole record, which
				// is the erase here; the cases still link to the resident.
				ob.Forget = casesOf(before)
				log.Info("resident asked to erase; session erased", "cases", len(ob.Forget))
			}
		}
		return s, ob
	})
	if err != nil {
		return err
	}
	if err := w.perform(ctx, log, e, ob, token, key); err != nil {
		return err
	}
	if len(ob.Forget) > 0 {
		return w.clearOutbox(ctx, e)
	}
	return nil
}

// clearOutbox empties the done outbox of an erasure: it names the cases,
// and the erased resident's record must not keep a way back to them.
func (w *Workers) clearOutbox(ctx context.Context, e Entry) error {
	for attempt := 0; ; attempt++ {
		rec, err := w.opt.Store.Load(ctx, e.To)
		if err != nil {
			return err
		}
		if rec.Version == 0 || rec.Event != e.ID || len(rec.Outbox) == 0 {
			return nil
		}
		rec.Outbox = nil
		_, err = w.opt.Store.Save(ctx, e.To, rec)
		if errors.Is(err, ErrConflict) && attempt < 5 {
			continue
		}
		return err
	}
}

// unfollow erases a resident who blocked the account: their cases are cut
// from them first, through the outbox so that a crash cannot lose it, then
// their record is deleted. Nothing is sent.
func (w *Workers) unfollow(ctx context.Context, log *slog.Logger, e Entry) error {
	ob, err := w.apply(ctx, log, e, func(before flows.Session) (flows.Session, outbox) {
		return flows.Session{}, outbox{Forget: casesOf(before)}
	})
	if err != nil {
		return err
	}
	if err := w.perform(ctx, log, e, ob, "", e.ID); err != nil {
		return err
	}
	if err := w.opt.Store.Delete(ctx, e.To); err != nil {
		return err
	}
	log.Info("resident unfollowed; session erased", "cases", len(ob.Forget))
	return nil
}

// apply steps the resident's session once per event: it saves the new
// session together with the event id and its outbox, and returns the
// outbox. An event already applied (a redelivery after a crash or a failed
// side effect) is not stepped again; its saved outbox is returned.
func (w *Workers) apply(ctx context.Context, log *slog.Logger, e Entry, step func(flows.Session) (flows.Session, outbox)) (outbox, error) {
	for attempt := 0; ; attempt++ {
		rec, err := w.opt.Store.Load(ctx, e.To)
		if err != nil {
			return outbox{}, err
		}
		if rec.Version > 0 && rec.Event == e.ID {
			// Applied before a crash or a failed send: finish, do not step again.
			var saved outbox
			if len(rec.Outbox) > 0 {
				if err := json.Unmarshal(rec.Outbox, &saved); err != nil {
					log.Error("outbox unreadable; its side effects are dropped", "err", err)
					return outbox{}, nil
				}
			}
			return saved, nil
		}
		s, ob := step(rec.Session)
		if w.crashed("step", e) {
			return outbox{}, errCrashed
		}
		enc, err := json.Marshal(ob)
		if err != nil {
			return outbox{}, fmt.Errorf("encode outbox: %w", err)
		}
		_, err = w.opt.Store.Save(ctx, e.To, Record{Session: s, Version: rec.Version, Event: e.ID, Outbox: enc})
		if errors.Is(err, ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return outbox{}, err
		}
		if w.crashed("save", e) {
			return outbox{}, errCrashed
		}
		return ob, nil
	}
}

// perform does an outbox's side effects in order (the answer first: it may
// carry emergency numbers; then the case; then relays; then cutting erased
// residents from their cases), each once.
func (w *Workers) perform(ctx context.Context, log *slog.Logger, e Entry, ob outbox, token, key string) error {
	in := w.opt.Intake
	done, err := in.marks(ctx, e)
	if err != nil {
		return err
	}
	if len(ob.Replies) > 0 && done["reply"] == "" {
		err := w.opt.LINE.Answer(ctx, e.To, token, key, ob.Replies)
		if err != nil && temporary(err) {
			return err
		}
		if err != nil {
			log.Error("answer refused by LINE; not retried", "err", err)
		}
		if err := in.mark(ctx, e, "reply", "1"); err != nil {
			return err
		}
	}
	if w.crashed("send", e) {
		return errCrashed
	}
	caseID := ""
	for i, t := range ob.Handoffs {
		step := "handoff:" + strconv.Itoa(i)
		if v := done[step]; v != "" {
			caseID = v
			continue
		}
		id, err := w.handoff(ctx, e, t, key+":"+step)
		if err != nil {
			return err
		}
		caseID = id
		log.Info("case handed off", "case", id, "escalated", t.Case != "", "urgent", t.Handoff.Urgent,
			"categories", strings.Join(t.Handoff.Categories, ","))
		if err := in.mark(ctx, e, step, id); err != nil {
			return err
		}
	}
	for i, r := range ob.Relays {
		step := "relay:" + strconv.Itoa(i)
		if done[step] != "" {
			continue
		}
		c := r.Case
		if c == "" {
			c = caseID
		}
		if c == "" {
			log.Warn("relay without a case; skipped")
			continue
		}
		if err := w.opt.Handoffs.Relay(ctx, c, r.Text, key+":"+step); err != nil {
			return fmt.Errorf("relay to case %s: %w", c, err)
		}
		if err := in.mark(ctx, e, step, "1"); err != nil {
			return err
		}
	}
	for i, c := range ob.Forget {
		step := "forget:" + strconv.Itoa(i)
		if done[step] != "" {
			continue
		}
		if err := w.opt.Handoffs.Forget(ctx, c, key+":"+step); err != nil {
			return fmt.Errorf("forget case %s: %w", c, err)
		}
		if w.crashed("forget", e) {
			return errCrashed
		}
		if err := in.mark(ctx, e, step, "1"); err != nil {
			return err
		}
		log.Info("case cut from the resident", "case", c)
	}
	return nil
}

// handoff opens a case, or escalates the open one, and records the case id
// in the session. It runs after the answer was sent so that a slow or
// failing staff side never holds back a resident's emergency numbers.
func (w *Workers) handoff(ctx context.Context, e Entry, t handoffTask, key string) (string, error) {
	if c := t.Case; c != "" {
		if err := w.opt.Handoffs.Escalate(ctx, c, t.Handoff, key); err != nil {
			return "", fmt.Errorf("escalate case %s: %w", c, err)
		}
		return c, nil
	}
	id, err := w.opt.Handoffs.Open(ctx, e.To, t.Handoff, key)
	if err != nil {
		return "", fmt.Errorf("open case: %w", err)
	}
	rec, err := w.opt.Store.Load(ctx, e.To)
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		if rec.Session.HandedOff && rec.Session.Case == "" {
			rec.Session.Case = id
			_, err = w.opt.Store.Save(ctx, e.To, rec)
			if errors.Is(err, ErrConflict) && attempt < 5 {
				if rec, err = w.opt.Store.Load(ctx, e.To); err != nil {
					return "", err
				}
				continue
			}
			if err != nil {
				return "", err
			}
		}
		return id, nil
	}
}

// group answers any message or join in a group or room with the notice that
// consultations are one-to-one, then leaves.
func (w *Workers) group(ctx context.Context, log *slog.Logger, e Entry, token string) error {
	in := w.opt.Intake
	done, err := in.marks(ctx, e)
	if err != nil {
		return err
	}
	if done["reply"] == "" {
		if time.Since(e.At) > replyTokenTTL {
			token = ""
		}
		text := w.opt.Flow.Text("group_notice", w.opt.Flow.Locale())
		err := w.opt.LINE.Answer(ctx, e.To, token, e.ID, []flows.Reply{{Text: text}})
		if err != nil && temporary(err) {
			return err
		}
		if err := in.mark(ctx, e, "reply", "1"); err != nil {
			return err
		}
	}
	if err := w.opt.LINE.Leave(ctx, e.Source, e.To); err != nil {
		if temporary(err) {
			return err
		}
		log.Warn("leave refused by LINE", "err", err)
	}
	log.Info("left a " + e.Source + " chat")
	return nil
}
