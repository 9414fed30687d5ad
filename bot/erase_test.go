package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// forgetCall is one Forget the workers made.
type forgetCall struct{ Case, Key string }

// recordingHandoffs passes every call to the staff side under test and
// records the Forget calls, so that a test sees repeats the staff side
// absorbed.
type recordingHandoffs struct {
	Handoffs
	mu      sync.Mutex
	forgets []forgetCall
}

func (h *recordingHandoffs) Forget(ctx context.Context, caseID, key string) error {
	h.mu.Lock()
	h.forgets = append(h.forgets, forgetCall{caseID, key})
	h.mu.Unlock()
	return h.Handoffs.Forget(ctx, caseID, key)
}

func (h *recordingHandoffs) calls() []forgetCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]forgetCall(nil), h.forgets...)
}

func unfollowEvent(id, user string) []byte {
	return []byte(`{"destination":"Ubot","events":[{"type":"unfollow","mode":"active","timestamp":1767225600000,` +
		`"webhookEventId":"` + id + `","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":"` + user + `"}}]}`)
}

// startWorkers runs a pool on the rig with the given staff side; crash as in
// Workers.crash. The returned function stops it gracefully and waits.
func (r *rig) startWorkers(owner string, staff Handoffs, crash func(string, Entry) bool) (stop func(), done <-chan struct{}) {
	w := NewWorkers(WorkerOptions{Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line,
		Handoffs: staff, Log: r.log, Owner: owner, Block: 20 * time.Millisecond, Backoff: 5 * time.Millisecond})
	w.crash = crash
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() { _ = w.Run(ctx); close(ch) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-ch }) }
	r.t.Cleanup(stop)
	return stop, ch
}

// openCase brings alice to an open (crisis) case and returns its id.
func (r *rig) openCase(staff Handoffs) string {
	r.t.Helper()
	stop, _ := r.startWorkers("opener", staff, nil)
	defer stop()
	if got := r.post(textEvent("01JCRISIS", alice, "rt-1", "もう死にたい")); got != http.StatusOK {
		r.t.Fatalf("status %d", got)
	}
	var caseID string
	r.eventually("the case id in the session", func() bool {
		rec, _ := r.store.Load(context.Background(), alice)
		caseID = rec.Session.Case
		return caseID != "" && r.backlog() == 0
	})
	return caseID
}

// erasures are the two ways a resident erases their data.
var erasures = []struct {
	name string
	// prepare runs with workers, before the erasing event.
	prepare func(r *rig)
	// erase is the event that erases.
	erase []byte
	// kept is whether a (fresh) record remains after the erasure.
	kept bool
}{
	{
		name: "削除 then 消す",
		prepare: func(r *rig) {
			n := len(r.fake.Sent())
			r.post(textEvent("01JDELETE", alice, "rt-2", "削除"))
			r.eventually("the delete question", func() bool { return len(r.fake.Sent()) == n+1 && r.backlog() == 0 })
		},
		erase: textEvent("01JERASE", alice, "rt-3", "消す"),
		kept:  true,
	},
	{
		name:    "unfollow",
		prepare: func(*rig) {},
		erase:   unfollowEvent("01JERASE", alice),
	},
}

func assertErased(t *testing.T, r *rig, kept bool, caseID string) {
	t.Helper()
	rec, err := r.store.Load(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if kept && (rec.Version == 0 || rec.Session.Case != "" || rec.Session.PrevCase != "" || rec.Session.HandedOff) {
		t.Errorf("after erase: %+v, want a fresh session", rec.Session)
	}
	if strings.Contains(string(rec.Outbox), caseID) {
		t.Errorf("the erased record still names case %s in its outbox: %s", caseID, rec.Outbox)
	}
	if !kept && rec.Version != 0 {
		t.Errorf("after unfollow: record version %d, want none", rec.Version)
	}
}

// TestEraseForgetsTheCase erases a resident with an open case, and one whose
// case staff had closed: the worker cuts the case from them, once.
func TestEraseForgetsTheCase(t *testing.T) {
	for _, er := range erasures {
		for _, closed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/closed=%v", er.name, closed), func(t *testing.T) {
				r := newRig(t, rigOptions{})
				staff := &recordingHandoffs{Handoffs: r.handoffs}
				caseID := r.openCase(staff)
				r.startWorkers("w", staff, nil)
				if closed {
					if err := r.intake.Enqueue(context.Background(), alice, "slack:close:"+caseID, flows.EventCaseClosed); err != nil {
						t.Fatal(err)
					}
					r.eventually("the case closed", func() bool {
						rec, _ := r.store.Load(context.Background(), alice)
						return rec.Session.PrevCase == caseID && r.backlog() == 0
					})
				}
				er.prepare(r)
				if got := r.post(er.erase); got != http.StatusOK {
					t.Fatalf("status %d", got)
				}
				r.eventually("the erasure done", func() bool { return r.backlog() == 0 && len(staff.calls()) > 0 })
				settle()
				if calls := staff.calls(); len(calls) != 1 || calls[0].Case != caseID {
					t.Errorf("Forget calls %+v, want one for %s", calls, caseID)
				}
				if ev := r.handoffs.Events(); ev[len(ev)-1] != "forget "+caseID {
					t.Errorf("staff side saw %v, want the case forgotten last", ev)
				}
				assertErased(t, r, er.kept, caseID)
				assertNoPersonalData(t, r.logs.String(), er.erase)
			})
		}
	}
	t.Run("no case, nothing to forget", func(t *testing.T) {
		r := newRig(t, rigOptions{})
		staff := &recordingHandoffs{Handoffs: r.handoffs}
		r.startWorkers("w", staff, nil)
		r.post(textEvent("01JHELLO", alice, "rt-1", "こんにちは"))
		r.eventually("the answer", func() bool { return len(r.fake.Sent()) == 1 && r.backlog() == 0 })
		r.post(unfollowEvent("01JBYE", alice))
		r.eventually("the session erased", func() bool { rec, _ := r.store.Load(context.Background(), alice); return rec.Version == 0 })
		if calls := staff.calls(); len(calls) != 0 {
			t.Errorf("Forget calls %+v for a resident without a case", calls)
		}
	})
}

// TestCrashBetweenSaveAndForget kills the worker after the erased session
// was saved (before the answer and Forget, after Forget, and after the whole
// batch but before its ack); another process takes the shard over and the
// case is forgotten: asked twice when the crash came after the first ask,
// done once, because the staff side deduplicates by key.
func TestCrashBetweenSaveAndForget(t *testing.T) {
	for _, er := range erasures {
		for _, point := range []string{"save", "send", "forget"} {
			t.Run(er.name+"/"+point, func(t *testing.T) {
				r := newRig(t, rigOptions{shards: 1, leaseTTL: 300 * time.Millisecond})
				staff := &recordingHandoffs{Handoffs: r.handoffs}
				caseID := r.openCase(staff)
				stop, _ := r.startWorkers("w", staff, nil)
				er.prepare(r)
				stop()

				var crashed atomic.Bool
				_, dead := r.startWorkers("doomed", staff, func(p string, e Entry) bool {
					if p == point && e.ID == "01JERASE" {
						crashed.Store(true)
						return true
					}
					return false
				})
				if got := r.post(er.erase); got != http.StatusOK {
					t.Fatalf("status %d", got)
				}
				select {
				case <-dead:
				case <-time.After(10 * time.Second):
					t.Fatal("the doomed worker did not crash")
				}
				if !crashed.Load() {
					t.Fatal("crash point not reached")
				}
				before := len(staff.calls())
				r.startWorkers("survivor", staff, nil)
				r.eventually("the takeover", func() bool { return r.backlog() == 0 })
				settle()

				calls := staff.calls()
				wantCalls := 1
				if point == "forget" || point == "send" {
					wantCalls = 2 // once before the crash, once by the survivor
				}
				if len(calls) != wantCalls || before != wantCalls-1 {
					t.Fatalf("Forget calls %+v (%d before the takeover), want %d", calls, before, wantCalls)
				}
				for _, c := range calls {
					if c != calls[0] || c.Case != caseID {
						t.Errorf("Forget calls %+v: want the same case and key each time", calls)
					}
				}
				n := 0
				for _, ev := range r.handoffs.Events() {
					if ev == "forget "+caseID {
						n++
					}
				}
				if n != 1 {
					t.Errorf("case forgotten %d times, want exactly once", n)
				}
				assertErased(t, r, er.kept, caseID)
			})
		}
	}
}

// TestEraseReachesStaff runs the workers with the real Slack handoff on the
// same Redis, against fake LINE and Slack: after the resident erases their
// data, the case no longer links to their LINE id, its thread says so once
// (also when Forget is delivered twice after a crash), and a staff reply is
// answered in the thread instead of being pushed.
func TestEraseReachesStaff(t *testing.T) {
	for _, er := range erasures {
		for _, crash := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/crash=%v", er.name, crash), func(t *testing.T) {
				ctx := context.Background()
				r := newRig(t, rigOptions{shards: 1, leaseTTL: 300 * time.Millisecond})
				st := newStaffSide(t, r)
				caseID := r.openCase(st.svc)
				home := st.card(caseID)

				st.reply(home, "EvBEFORE", "お話を聞かせてください")
				r.eventually("the staff reply pushed", func() bool { return len(r.fake.Calls(linefake.PathPush)) == 1 })

				stop, _ := r.startWorkers("w", st.svc, nil)
				er.prepare(r)
				if crash {
					stop()
					_, dead := r.startWorkers("doomed", st.svc, func(p string, e Entry) bool {
						return p == "forget" && e.ID == "01JERASE"
					})
					r.post(er.erase)
					select {
					case <-dead:
					case <-time.After(10 * time.Second):
						t.Fatal("the doomed worker did not crash")
					}
					r.startWorkers("survivor", st.svc, nil)
				} else {
					r.post(er.erase)
				}
				r.eventually("the erasure done", func() bool { return r.backlog() == 0 })
				if n := r.rdb.Exists(ctx, st.prefix+"case:{"+caseID+"}:resident").Val(); n != 0 {
					t.Errorf("case %s still links to the resident's LINE id", caseID)
				}
				r.eventually("the thread told", func() bool { return st.countInThread(home, "相談者が自分のデータを削除しました") > 0 })
				settle()
				if n := st.countInThread(home, "相談者が自分のデータを削除しました"); n != 1 {
					t.Errorf("thread note posted %d times, want once", n)
				}

				pushes := len(r.fake.Calls(linefake.PathPush))
				st.reply(home, "EvAFTER", "その後いかがですか")
				r.eventually("the not-sent notice", func() bool { return st.countInThread(home, "送られていません") == 1 })
				if n := len(r.fake.Calls(linefake.PathPush)); n != pushes {
					t.Errorf("%d pushes after the erasure, want none", n-pushes)
				}
				assertErased(t, r, er.kept, caseID)
			})
		}
	}
}

// staffSide is the real Slack handoff on the rig's Redis and a fake Slack.
type staffSide struct {
	t            *testing.T
	svcRedis     redis.UniversalClient
	svc          *handoff.Service
	fake         *slackfake.Server
	prefix       string
	events       http.Handler
	interactions http.Handler
}

const (
	slackToken  = "xoxb-test-token"
	slackSecret = "slack-signing-secret"
)

// enqueuer closes a conversation through the intake, as serve does.
type enqueuer struct{ in *Intake }

func (e enqueuer) CloseConversation(ctx context.Context, userID, _, key string) error {
	return e.in.Enqueue(ctx, userID, key, flows.EventCaseClosed)
}

func newStaffSide(t *testing.T, r *rig, tweaks ...func(*handoff.Config)) *staffSide {
	t.Helper()
	fake := slackfake.New(t, slackToken)
	cfg := handoff.Config{
		BotToken: slackToken, SigningSecret: slackSecret, APIBaseURL: fake.APIURL(),
		KeyPrefix: r.env.Prefix, ChannelInterval: time.Millisecond,
		PollInterval: 20 * time.Millisecond, ClaimAfter: time.Second,
	}
	for _, f := range tweaks {
		f(&cfg)
	}
	svc, err := handoff.New(cfg, handoff.Deps{Redis: r.rdb, Flow: r.flow, Pusher: r.line, Conversations: enqueuer{r.intake}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, c := range fake.Calls("") {
			if strings.Contains(c.Body, alice) || strings.Contains(c.Form.Encode(), alice) {
				t.Errorf("Slack %s request carries the resident's LINE id", c.Method)
			}
		}
	})
	if !fake.Wait(5*time.Second, func() bool { return len(fake.Calls("auth.test")) > 0 }) {
		t.Fatal("the Slack side did not start")
	}
	return &staffSide{t: t, svcRedis: r.rdb, svc: svc, fake: fake, prefix: r.env.Prefix,
		events: svc.EventsHandler(), interactions: svc.InteractionsHandler()}
}

// card waits for the case card in Slack; the staff side posts it after the
// worker recorded the case.
func (s *staffSide) card(caseID string) slackfake.Message {
	s.t.Helper()
	var card slackfake.Message
	ok := s.fake.Wait(10*time.Second, func() bool {
		for _, m := range s.fake.Messages() {
			if m.ThreadTS == "" && strings.Contains(m.Text, caseID) {
				card = m
				return true
			}
		}
		return false
	})
	if !ok {
		s.t.Fatalf("no card for case %s", caseID)
	}
	// Staff can answer once the card is linked to its case.
	if !s.fake.Wait(10*time.Second, func() bool {
		return s.svcRedis.Exists(context.Background(), s.prefix+"thread:"+card.Channel+":"+card.TS).Val() == 1
	}) {
		s.t.Fatalf("card of case %s never linked", caseID)
	}
	return card
}

func (s *staffSide) countInThread(home slackfake.Message, sub string) int {
	n := 0
	for _, m := range s.fake.Thread(home.Channel, home.TS) {
		if strings.Contains(m.Text, sub) {
			n++
		}
	}
	return n
}

// reply sends a staff member's thread reply as Slack's Events API would, signed.
func (s *staffSide) reply(home slackfake.Message, eventID, text string) {
	s.t.Helper()
	ts := fmt.Sprintf("1800000000.%06d", len(s.fake.Messages())+1)
	s.fake.Inject(home.Channel, home.TS, ts, "U0STAFF1", text)
	body, _ := json.Marshal(map[string]any{"token": "x", "team_id": "T0000001", "api_app_id": "A0000001",
		"type": "event_callback", "event_id": eventID, "event_time": 1800000000,
		"event": map[string]any{"type": "message", "channel": home.Channel, "user": "U0STAFF1", "text": text,
			"ts": ts, "event_ts": ts, "thread_ts": home.TS, "channel_type": "channel"}})
	s.send(s.events, "application/json", string(body))
}

// close presses the card's 終了 button as Slack's interactivity would, signed.
func (s *staffSide) close(caseID, triggerID string) {
	s.t.Helper()
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "trigger_id": triggerID,
		"user": map[string]any{"id": "U0STAFF1"}, "actions": []map[string]any{{"action_id": "close", "type": "button",
			"block_id": "case:" + caseID, "value": caseID, "action_ts": "1800000000.000001"}}})
	s.send(s.interactions, "application/x-www-form-urlencoded", url.Values{"payload": {string(payload)}}.Encode())
}

func (s *staffSide) send(h http.Handler, contentType, body string) {
	s.t.Helper()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(mac, "v0:%s:%s", now, body)
	req := httptest.NewRequest(http.MethodPost, "/slack/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", now)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		s.t.Fatalf("Slack answered %d", w.Code)
	}
}
