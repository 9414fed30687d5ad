package handoff

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
	"github.com/tsunagu-city/tsunagu/stats"
)

// resident is a LINE userId as LINE writes them; no Slack request may ever
// contain it.
const resident = "U4af4980629b0c1d2e3f4a5b6c7d8e9f0"

const (
	botToken = "xoxb-test-token"
	secret   = "8f742231b10e8888abcd99yyyzzz85a5"
)

// openHour is a Wednesday at 10:00 in Tokyo: staff are at work.
var openHour = time.Date(2026, 12, 2, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

// closedHour is a Sunday at 03:00 in Tokyo.
var closedHour = time.Date(2026, 12, 6, 3, 0, 0, 0, time.FixedZone("JST", 9*3600))

// testClock is the service's clock in a test: it starts at a chosen time,
// runs at real speed (so that pacing and timeouts behave), and jumps ahead
// when the test advances it, to bring scheduled work due without waiting.
type testClock struct {
	mu    sync.Mutex
	start time.Time
	t0    time.Time
	extra time.Duration
}

func newClock(start time.Time) *testClock { return &testClock{start: start, t0: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Since(c.t0) + c.extra)
}

// Advance moves the clock d ahead.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extra += d
}

// pushed is one push a recordingPusher received.
type pushed struct {
	User, Key string
	Texts     []string
}

// recordingPusher stands in for bot's LINE sender and, like LINE, refuses
// a second push with the same retry key.
type recordingPusher struct {
	mu    sync.Mutex
	all   []pushed
	seen  map[string]bool
	dupes int
	fail  error
}

func (p *recordingPusher) Push(_ context.Context, userID, key string, texts ...string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return 0, p.fail
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[key] {
		p.dupes++
		return 0, nil
	}
	p.seen[key] = true
	p.all = append(p.all, pushed{userID, key, texts})
	return 0, nil
}

func (p *recordingPusher) pushes() []pushed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pushed(nil), p.all...)
}

// closed is one CloseConversation call.
type closed struct{ User, Case, Key string }

type recordingConversations struct {
	mu    sync.Mutex
	calls []closed
}

func (c *recordingConversations) CloseConversation(_ context.Context, userID, caseID, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, closed{userID, caseID, key})
	return nil
}

func (c *recordingConversations) closes() []closed {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]closed(nil), c.calls...)
}

type harness struct {
	t     *testing.T
	svc   *Service
	clock *testClock
	fake  *slackfake.Server
	push  *recordingPusher
	conv  *recordingConversations
	rdb   redis.UniversalClient
	stats *stats.Recorder
	flow  *flows.Flow
	env   redistest.Env
	ev    http.Handler
	ix    http.Handler
	seq   int
}

// newHarness starts a service on a real Redis against the fake Slack, with
// short durations; mod adjusts the configuration.
func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	env := redistest.New(t)
	return newHarnessOn(t, env, mod)
}

func newHarnessOn(t *testing.T, env redistest.Env, mod func(*Config)) *harness {
	t.Helper()
	return newHarnessAt(t, env, openHour, mod)
}

// newHarnessAt starts the service with its clock at start.
func newHarnessAt(t *testing.T, env redistest.Env, start time.Time, mod func(*Config)) *harness {
	t.Helper()
	fl, err := flows.LoadPath("testdata/flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: slackfake.New(t, botToken), push: &recordingPusher{},
		conv: &recordingConversations{}, rdb: env.Client(t), flow: fl, env: env, clock: newClock(start)}
	cfg := Config{
		BotToken:            botToken,
		SigningSecret:       secret,
		APIBaseURL:          h.fake.APIURL(),
		UrgentMention:       "S0URGENT",
		LeadMention:         "S0LEADS",
		EscalateAfter:       time.Hour,
		EscalateUrgentAfter: time.Hour,
		KeyPrefix:           env.Prefix,
		ChannelInterval:     time.Millisecond,
		PollInterval:        50 * time.Millisecond,
		ClaimAfter:          time.Second,
		Now:                 h.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	h.stats = stats.NewRecorder(h.rdb, stats.Options{Prefix: env.Prefix})
	h.svc, err = New(cfg, Deps{Redis: h.rdb, Flow: fl, Pusher: h.push, Conversations: h.conv,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Stats: h.stats})
	if err != nil {
		t.Fatal(err)
	}
	h.ev, h.ix = h.svc.EventsHandler(), h.svc.InteractionsHandler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		h.stats.Run(ctx)
	}()
	go func() {
		defer close(done)
		_ = h.svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		<-statsDone
		h.assertNoResidentID()
	})
	if !h.fake.Wait(5*time.Second, func() bool { return h.svc.self() != "" }) {
		t.Fatal("service did not start")
	}
	return h
}

// assertNoResidentID checks the promise: nothing sent to Slack carries the
// resident's LINE userId.
func (h *harness) assertNoResidentID() {
	h.t.Helper()
	for _, c := range h.fake.Calls("") {
		if strings.Contains(c.Body, resident) || strings.Contains(c.Form.Encode(), resident) {
			h.t.Errorf("Slack %s request contains the resident's LINE userId: %s", c.Method, c.Body)
		}
	}
}

// open opens a case as the LINE side does and waits for its card.
func (h *harness) open(hd flows.Handoff, key string) *Case {
	h.t.Helper()
	id, err := h.svc.Open(context.Background(), resident, hd, key)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	var c *Case
	h.eventually("the card of case "+id, func() bool {
		c, err = h.svc.st.get(context.Background(), id)
		// Staff can answer once the card's thread is linked to the case.
		return err == nil && c.Home != nil && h.rdb.Exists(context.Background(), h.svc.st.threadKey(c.Home.Channel, c.Home.TS)).Val() == 1
	})
	return c
}

// drained waits until the queue holds no work (every task done and
// deleted) and nothing scheduled is due by the service's clock.
func (h *harness) drained() {
	h.t.Helper()
	ctx := context.Background()
	h.eventually("the queue drained", func() bool {
		due := h.rdb.ZCount(ctx, h.svc.dueKey(), "-inf", fmt.Sprint(h.clock.Now().UnixMilli())).Val()
		return due == 0 && h.rdb.XLen(ctx, h.svc.queueKey()).Val() == 0
	})
}

// testWriter sends the service's log to the test's, shown when it fails.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) caseNow(id string) *Case {
	h.t.Helper()
	c, err := h.svc.st.get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// card returns the card's current text as staff read it (all block text).
func (h *harness) card(p *Post) string {
	h.t.Helper()
	m, ok := h.fake.Message(p.Channel, p.TS)
	if !ok {
		h.t.Fatalf("no message %s/%s", p.Channel, p.TS)
	}
	return render(m)
}

// render flattens a message into the text staff see, buttons in [brackets].
func render(m slackfake.Message) string {
	if m.Blocks == "" {
		return m.Text
	}
	var blocks []map[string]any
	_ = json.Unmarshal([]byte(m.Blocks), &blocks)
	var b strings.Builder
	textOf := func(v any) string {
		if o, ok := v.(map[string]any); ok {
			s, _ := o["text"].(string)
			return s
		}
		return ""
	}
	for _, bl := range blocks {
		switch bl["type"] {
		case "header":
			b.WriteString("# " + textOf(bl["text"]) + "\n")
		case "section":
			if t := textOf(bl["text"]); t != "" {
				b.WriteString(t + "\n")
			}
			if fs, ok := bl["fields"].([]any); ok {
				for _, f := range fs {
					b.WriteString(strings.ReplaceAll(textOf(f), "\n", ": ") + "\n")
				}
			}
		case "context":
			for _, e := range bl["elements"].([]any) {
				b.WriteString("(" + textOf(e) + ")\n")
			}
		case "actions":
			var parts []string
			for _, e := range bl["elements"].([]any) {
				el := e.(map[string]any)
				label := textOf(el["text"])
				if label == "" {
					label = textOf(el["placeholder"])
				}
				if label == "" {
					label = el["action_id"].(string)
				}
				if opts, ok := el["options"].([]any); ok {
					var names []string
					for _, o := range opts {
						names = append(names, textOf(o.(map[string]any)["text"]))
					}
					label += " ▾ " + strings.Join(names, " | ")
				}
				parts = append(parts, "["+label+"]")
			}
			b.WriteString(strings.Join(parts, " ") + "\n")
		}
	}
	return b.String()
}

// signed builds a request Slack would send, signed at time at.
func signed(target, body string, at time.Time, key string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	if strings.HasPrefix(body, "payload=") {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func serve(hd http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	hd.ServeHTTP(w, r)
	return w
}

// msg is a message event as Slack delivers it.
type msg struct {
	EventID, Channel, ThreadTS, User, Text, SubType, BotID string
}

func (h *harness) nextTS() string {
	h.seq++
	return fmt.Sprintf("1800000000.%06d", h.seq)
}

func eventBody(m msg, ts string) string {
	inner := map[string]any{"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text,
		"ts": ts, "event_ts": ts, "channel_type": "channel"}
	if m.ThreadTS != "" {
		inner["thread_ts"] = m.ThreadTS
	}
	if m.SubType != "" {
		inner["subtype"] = m.SubType
	}
	if m.BotID != "" {
		inner["bot_id"] = m.BotID
	}
	b, _ := json.Marshal(map[string]any{"token": "x", "team_id": "T0000001", "api_app_id": "A0000001",
		"type": "event_callback", "event_id": m.EventID, "event_time": 1800000000, "event": inner})
	return string(b)
}

// staff sends a signed message event and checks it was acknowledged.
func (h *harness) staff(m msg) {
	h.t.Helper()
	if m.User == "" {
		m.User = "U0STAFF1"
	}
	if m.EventID == "" {
		h.seq++
		m.EventID = fmt.Sprintf("Ev%08d", h.seq)
	}
	ts := h.nextTS()
	if m.SubType == "" && m.ThreadTS != "" {
		h.fake.Inject(m.Channel, m.ThreadTS, ts, m.User, m.Text)
	}
	w := serve(h.ev, signed("/slack/events", eventBody(m, ts), time.Now(), secret))
	if w.Code != http.StatusOK {
		h.t.Fatalf("event answered %d: %s", w.Code, w.Body)
	}
}

// press sends a signed block_actions payload for a card action.
func (h *harness) press(c *Case, user string, action map[string]any) {
	h.t.Helper()
	h.seq++
	action["action_ts"] = fmt.Sprintf("1800000000.%06d", h.seq)
	if _, ok := action["block_id"]; !ok {
		action["block_id"] = blockPrefix + c.ID
	}
	p := map[string]any{
		"type":       "block_actions",
		"trigger_id": fmt.Sprintf("trig-%d", h.seq),
		"user":       map[string]any{"id": user, "name": "staff"},
		"team":       map[string]any{"id": "T0000001"},
		"channel":    map[string]any{"id": c.Home.Channel},
		"container":  map[string]any{"type": "message", "message_ts": c.Home.TS, "channel_id": c.Home.Channel},
		"actions":    []any{action},
	}
	b, _ := json.Marshal(p)
	body := "payload=" + url.QueryEscape(string(b))
	w := serve(h.ix, signed("/slack/interactions", body, time.Now(), secret))
	if w.Code != http.StatusOK {
		h.t.Fatalf("interaction answered %d: %s", w.Code, w.Body)
	}
}

// eventually waits for cond, failing the test with what after 5 seconds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	if !h.fake.Wait(5*time.Second, cond) {
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

// threadTexts returns the texts of the replies in a case's home thread.
func (h *harness) threadTexts(p *Post) []string {
	var out []string
	for _, m := range h.fake.Thread(p.Channel, p.TS) {
		out = append(out, m.Text)
	}
	return out
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
