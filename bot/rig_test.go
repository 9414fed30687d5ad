package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
)

const testSecret = "test-channel-secret"

// syncBuffer is a log sink the workers and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rig is one service under test: real Redis, fake LINE, the default flow.
type rig struct {
	t        *testing.T
	env      redistest.Env
	rdb      redis.UniversalClient
	intake   *Intake
	store    *RedisStore
	line     *LINE
	fake     *linefake.Server
	handoffs *LogHandoffs
	flow     *flows.Flow
	logs     *syncBuffer
	log      *slog.Logger
	hook     http.Handler
}

type rigOptions struct {
	private  bool // a redis-server of the test's own, to stop and start
	shards   int
	leaseTTL time.Duration
	// retention is TSUNAGU_RETENTION for the intake and the store.
	retention time.Duration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, logs: &syncBuffer{}, fake: linefake.New(t), flow: flows.Default()}
	if o.private {
		srv := redistest.Start(t)
		r.env = redistest.Env{URL: srv.URL(), Prefix: redistest.UniquePrefix(), Server: srv}
	} else {
		r.env = redistest.New(t)
	}
	opt, err := redis.ParseURL(r.env.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // fail fast while Redis is stopped
	opt.DialTimeout = 200 * time.Millisecond
	c := redis.NewClient(opt)
	c.AddHook(redistest.SlotCheck{}) // what a Redis Cluster would refuse fails here too
	t.Cleanup(func() { _ = c.Close() })
	r.rdb = c
	r.log = slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if testing.Verbose() {
		r.log = slog.New(slog.NewJSONHandler(ioMulti(r.logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.shards == 0 {
		o.shards = 4
	}
	r.intake = NewIntake(c, IntakeOptions{Prefix: r.env.Prefix, Shards: o.shards, LeaseTTL: o.leaseTTL, Retention: o.retention})
	r.store = NewRedisStore(c, RedisStoreOptions{Prefix: r.env.Prefix, Secret: []byte(testSecret), Retention: o.retention})
	r.line, err = NewLINE(LINEOptions{Token: linefake.Token, BaseURL: r.fake.URL, Backoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.handoffs = NewLogHandoffs(r.log)
	r.hook = &Webhook{Secret: testSecret, Intake: r.intake, Log: r.log}
	return r
}

type multi struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (m multi) Write(p []byte) (int, error) { _, _ = m.b.Write(p); return m.a.Write(p) }

func ioMulti(b *syncBuffer) multi { return multi{a: b, b: os.Stderr} }

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// post delivers a body to the webhook as LINE would, signed.
func (r *rig) post(body []byte) int {
	return r.postSig(body, sign(testSecret, body))
}

func (r *rig) postSig(body []byte, sig string) int {
	req := httptest.NewRequest(http.MethodPost, "/webhook/line", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Line-Signature", sig)
	}
	rec := httptest.NewRecorder()
	r.hook.ServeHTTP(rec, req)
	return rec.Code
}

// workers starts a pool; it is stopped (gracefully) at cleanup or by the
// returned function, which waits for it.
func (r *rig) workers(owner string, crash func(string, Entry) bool) (stop func()) {
	w := NewWorkers(WorkerOptions{
		Intake: r.intake, Store: r.store, Flow: r.flow, LINE: r.line, Handoffs: r.handoffs,
		Log: r.log, Owner: owner, Block: 20 * time.Millisecond, Backoff: 5 * time.Millisecond,
	})
	w.crash = crash
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	r.t.Cleanup(stop)
	return stop
}

// eventually waits until cond holds, failing the test after a while.
func (r *rig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s; LINE calls: %d", what, len(r.fake.Calls("")))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits a little for anything that should not happen to happen.
func settle() { time.Sleep(150 * time.Millisecond) }

// backlog is the number of entries still in the intake streams.
func (r *rig) backlog() int64 {
	var n int64
	for s := 0; s < r.intake.Shards(); s++ {
		n += r.rdb.XLen(context.Background(), r.intake.streamKey(s)).Val()
	}
	return n
}

// textEvent is a one-event body: a resident's text message.
func textEvent(id, user, token, text string) []byte {
	return []byte(`{"destination":"Ubot","events":[{"type":"message","mode":"active","timestamp":1767225600000,` +
		`"webhookEventId":"` + id + `","deliveryContext":{"isRedelivery":false},` +
		`"source":{"type":"user","userId":"` + user + `"},"replyToken":"` + token + `",` +
		`"message":{"id":"m-` + id + `","type":"text","text":"` + text + `","quoteToken":"q"}}]}`)
}

func httptestRequest(body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/webhook/line", bytes.NewReader(body))
	req.Header.Set("X-Line-Signature", sign(testSecret, body))
	return req
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
