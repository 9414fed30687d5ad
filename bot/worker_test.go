package bot

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/flows"
)

const alice = "U0000000000000000000000000000a11c"

func TestRedeliveredBatchIsAnsweredOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	body := textEvent("01JREDELIVER", alice, "rt-1", "こんにちは")
	// Delivered twice before any worker runs, and again after it answered.
	for i := 0; i < 2; i++ {
		if got := r.post(body); got != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, got)
		}
	}
	r.workers("w", nil)
	r.eventually("the answer", func() bool { return len(r.fake.Sent()) == 1 && r.backlog() == 0 })
	if got := r.post(body); got != http.StatusOK {
		t.Fatalf("late redelivery: status %d", got)
	}
	settle()
	if n := len(r.fake.Calls("")); n != 1 {
		t.Fatalf("%d LINE calls, want 1", n)
	}
	rec, err := r.store.Load(context.Background(), alice)
	if err != nil || rec.Version != 1 {
		t.Fatalf("session stepped %d times (%v), want once", rec.Version, err)
	}
}

func TestRedisStoppedAnswers503ThenRecovers(t *testing.T) {
	r := newRig(t, rigOptions{private: true})
	r.workers("w", nil)
	first := textEvent("01JBEFORE", alice, "rt-1", "こんにちは")
	if got := r.post(first); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the first answer", func() bool { return len(r.fake.Sent()) == 1 })

	r.env.Server.Stop()
	second := textEvent("01JDURING", "U0000000000000000000000000000b0b0", "rt-2", "相談したい")
	if got := r.post(second); got != http.StatusServiceUnavailable {
		t.Fatalf("with Redis stopped: status %d, want 503", got)
	}
	settle()
	if n := len(r.fake.Sent()); n != 1 {
		t.Fatalf("%d answers while Redis was down, want still 1", n)
	}
	r.env.Server.Restart()
	// LINE redelivers what got a 5xx.
	if got := r.post(second); got != http.StatusOK {
		t.Fatalf("after restart: status %d", got)
	}
	r.eventually("the redelivered event's answer", func() bool {
		for _, c := range r.fake.Sent() {
			if c.ReplyToken == "rt-2" {
				return true
			}
		}
		return false
	})
	assertNoPersonalData(t, r.logs.String(), first, second)
}

// TestWorkerKilledMidEvent stops a worker as a killed process would, at
// each point of a batch between reading an event and acking it; another
// process's worker takes the shard over after the lease expires and
// finishes the event: the session stepped once, the answer sent. A crash
// after the answer but before the ack sends it once more, by push with the
// event's retry key (at-least-once: the numbers are never lost).
func TestWorkerKilledMidEvent(t *testing.T) {
	tests := []struct {
		point      string
		sentBefore int
		sent       int
	}{
		{"step", 0, 1},
		{"save", 0, 1},
		{"send", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			r := newRig(t, rigOptions{shards: 1, leaseTTL: 300 * time.Millisecond})
			var crashed atomic.Bool
			w := NewWorkers(WorkerOptions{Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line,
				Handoffs: r.handoffs, Log: r.log, Owner: "doomed", Block: 20 * time.Millisecond})
			w.crash = func(p string, e Entry) bool {
				if p == tt.point {
					crashed.Store(true)
					return true
				}
				return false
			}
			if got := r.post(textEvent("01JCRASH", alice, "rt-1", "こんにちは")); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			done := make(chan struct{})
			go func() { _ = w.Run(context.Background()); close(done) }()
			r.eventually("the doomed worker's crash", func() bool { return crashed.Load() })
			<-done
			if n := len(r.fake.Sent()); n != tt.sentBefore {
				t.Fatalf("%d answers before the takeover, want %d", n, tt.sentBefore)
			}
			r.workers("survivor", nil)
			r.eventually("the takeover", func() bool { return r.backlog() == 0 })
			settle()
			sent := r.fake.Sent()
			if len(sent) != tt.sent {
				t.Fatalf("%d answers in all, want %d", len(sent), tt.sent)
			}
			if c := sent[0]; c.ReplyToken != "rt-1" {
				t.Errorf("answered by %s %q, want the reply token", c.Path, c.ReplyToken)
			}
			if len(sent) == 2 && (sent[1].Path != linefake.PathPush || sent[1].RetryKey != RetryKey("01JCRASH", 0)) {
				t.Errorf("repeat sent by %s with key %q, want a push with the event's retry key", sent[1].Path, sent[1].RetryKey)
			}
			rec, _ := r.store.Load(context.Background(), alice)
			if rec.Version != 1 || rec.Outbox != nil {
				t.Errorf("session saved %d times, outbox %q; want once, and no outbox left", rec.Version, rec.Outbox)
			}
		})
	}
}

func TestRefusedReplyTokenFallsBackToPush(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.fake.Expire("rt-old")
	r.workers("w", nil)
	if got := r.post(textEvent("01JEXPIRED", alice, "rt-old", "こんにちは")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the push", func() bool { return len(r.fake.Sent()) == 1 })
	p := r.fake.Sent()[0]
	if p.Path != linefake.PathPush || p.To != alice {
		t.Fatalf("sent %s to %q, want a push to the resident", p.Path, p.To)
	}
	if want := RetryKey("01JEXPIRED", 0); p.RetryKey != want {
		t.Errorf("X-Line-Retry-Key = %q, want %q (derived from the event)", p.RetryKey, want)
	}
	// A retry after a crash pushes with the same key: LINE answers 409 and
	// that counts as sent.
	err := r.line.Answer(context.Background(), alice, "rt-old", "01JEXPIRED", []flows.Reply{{Text: "again"}})
	if err != nil {
		t.Fatalf("repeated push: %v", err)
	}
	if n := len(r.fake.Sent()); n != 1 {
		t.Errorf("%d successful sends, want 1", n)
	}
	if c := r.fake.Calls(linefake.PathPush); c[len(c)-1].Status != http.StatusConflict {
		t.Errorf("repeat answered %d, want 409", c[len(c)-1].Status)
	}
}

func TestBackoffOnRateLimitAndServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		calls    int
		answered bool
	}{
		{"429 then success", []int{429}, 2, true},
		{"500, 503 then success", []int{500, 503}, 3, true},
		{"403 is not retried", []int{403}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			r.fake.Fail(linefake.PathReply, tt.statuses...)
			r.workers("w", nil)
			if got := r.post(textEvent("01JBACKOFF", alice, "rt-1", "こんにちは")); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			r.eventually("the event done", func() bool { return r.backlog() == 0 })
			settle()
			if n := len(r.fake.Calls(linefake.PathReply)); n != tt.calls {
				t.Errorf("%d reply calls, want %d", n, tt.calls)
			}
			if got := len(r.fake.Sent()) == 1; got != tt.answered {
				t.Errorf("answered = %v, want %v", got, tt.answered)
			}
		})
	}
}

// TestLINEDownKeepsEventPending checks that an answer LINE could not take
// after all retries is not acked: it is sent once LINE is back.
func TestLINEDownKeepsEventPending(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.fake.Fail(linefake.PathReply, 500, 500, 500, 500, 500, 500)
	r.workers("w", nil)
	if got := r.post(textEvent("01JDOWN", alice, "rt-1", "こんにちは")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the answer after LINE recovered", func() bool { return len(r.fake.Sent()) == 1 && r.backlog() == 0 })
	if n := len(r.fake.Calls(linefake.PathReply)); n != 7 {
		t.Errorf("%d reply calls, want 7 (6 failures, then success)", n)
	}
}

// TestCrisisHandoffRelayAndClose follows a resident through a crisis
// handoff, a message relayed into the case and the case closed by staff.
func TestCrisisHandoffRelayAndClose(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	if got := r.post(textEvent("01JCRISIS", alice, "rt-1", "もう死にたい")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the crisis answer and case", func() bool { return len(r.fake.Sent()) == 1 && len(r.handoffs.Events()) == 1 })
	if !strings.Contains(strings.Join(r.fake.Sent()[0].Texts(), "\n"), "110") {
		t.Errorf("crisis answer lacks the emergency numbers: %q", r.fake.Sent()[0].Texts())
	}
	r.eventually("the case id in the session", func() bool {
		rec, _ := r.store.Load(ctx, alice)
		return rec.Session.Case != ""
	})
	rec, _ := r.store.Load(ctx, alice)
	caseID := rec.Session.Case
	if ev := r.handoffs.Events(); ev[0] != "open "+caseID {
		t.Fatalf("handoffs %v, want open %s", ev, caseID)
	}
	if got := r.post(textEvent("01JMORE", alice, "rt-2", "夫のことです")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the relay", func() bool { return len(r.handoffs.Events()) == 2 })
	if ev := r.handoffs.Events(); ev[1] != "relay "+caseID {
		t.Fatalf("handoffs %v, want relay %s", ev, caseID)
	}
	// Staff close the case: the same key twice is one event, one push.
	for i := 0; i < 2; i++ {
		if err := r.intake.Enqueue(ctx, alice, "slack:close:"+caseID, flows.EventCaseClosed); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually("the closing push", func() bool { return len(r.fake.Calls(linefake.PathPush)) >= 1 && r.backlog() == 0 })
	settle()
	pushes := r.fake.Calls(linefake.PathPush)
	if len(pushes) != 1 || pushes[0].RetryKey != RetryKey("slack:close:"+caseID, 0) {
		t.Fatalf("pushes %+v, want one with the key derived from the caller's", pushes)
	}
	if !strings.Contains(pushes[0].Texts()[0], r.flow.Text("case_closed", r.flow.Locale())) {
		t.Errorf("closing push %q lacks the case_closed text", pushes[0].Texts())
	}
	rec, _ = r.store.Load(ctx, alice)
	if rec.Session.Case != "" || rec.Session.PrevCase != caseID {
		t.Errorf("after close: case %q prev %q", rec.Session.Case, rec.Session.PrevCase)
	}
	assertNoPersonalData(t, r.logs.String(), textEvent("x", alice, "", "もう死にたい"), textEvent("x", alice, "", "夫のことです"))
}

func TestUnfollowErasesSession(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	r.post(textEvent("01JHELLO", alice, "rt-1", "こんにちは"))
	r.eventually("a session", func() bool { rec, _ := r.store.Load(ctx, alice); return rec.Version > 0 })
	unfollow := []byte(`{"destination":"Ubot","events":[{"type":"unfollow","mode":"active","timestamp":1767225600000,` +
		`"webhookEventId":"01JBYE","deliveryContext":{"isRedelivery":false},"source":{"type":"user","userId":"` + alice + `"}}]}`)
	if got := r.post(unfollow); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the session erased", func() bool { rec, _ := r.store.Load(ctx, alice); return rec.Version == 0 })
}

func TestPushForStaff(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	texts := []string{"1", "2", "3", "4", "5", "6", "7"}
	for i := 0; i < 2; i++ {
		if _, err := r.line.Push(ctx, alice, "slack:1700000000.000100", texts...); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	sent := r.fake.Sent()
	if len(sent) != 2 || len(sent[0].Messages) != 5 || len(sent[1].Messages) != 2 {
		t.Fatalf("sent %d calls, want 5+2 messages once", len(sent))
	}
	if sent[0].RetryKey == sent[1].RetryKey {
		t.Error("both chunks share a retry key")
	}
	if n := len(r.fake.Calls(linefake.PathPush)); n != 4 {
		t.Errorf("%d push calls, want 4 (2 accepted, 2 refused as duplicates)", n)
	}
}

func TestRetryKey(t *testing.T) {
	tests := []struct {
		key  string
		n    int
		same bool
	}{
		{"01JA", 0, true},
		{"01JA", 1, false},
		{"01JB", 0, false},
	}
	base := RetryKey("01JA", 0)
	for _, tt := range tests {
		k := RetryKey(tt.key, tt.n)
		if (k == base) != tt.same {
			t.Errorf("RetryKey(%q, %d) = %s; same as base = %v", tt.key, tt.n, k, k == base)
		}
		if len(k) != 36 || k[14] != '5' || !strings.ContainsRune("89ab", rune(k[19])) {
			t.Errorf("RetryKey(%q, %d) = %s is not a version 5 UUID", tt.key, tt.n, k)
		}
	}
}

// TestQuickRepliesArePostbacks checks the start message's buttons as LINE
// receives them: postback actions whose displayText is the label.
func TestQuickRepliesArePostbacks(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	r.post(textEvent("01JQR", alice, "rt-1", "こんにちは"))
	r.eventually("the answer", func() bool { return len(r.fake.Sent()) == 1 })
	c := r.fake.Sent()[0]
	var buttons []linefake.Button
	for _, m := range c.Messages {
		buttons = append(buttons, m.Buttons...)
	}
	if len(buttons) == 0 {
		t.Fatalf("no quick replies in %q", c.Texts())
	}
	for _, b := range buttons {
		if b.Type != "postback" || b.Data == "" || b.DisplayText != b.Label {
			t.Errorf("button %+v: want a postback with displayText = label", b)
		}
	}
}
