package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

type serveLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *serveLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *serveLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withEnv(t *testing.T, env map[string]string) {
	t.Helper()
	old := serveGetenv
	serveGetenv = func(k string) string { return env[k] }
	t.Cleanup(func() { serveGetenv = old })
}

func signBody(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestServeEndToEnd runs `tsunagu serve` against a real Redis and a fake
// LINE: a signed batch with every event type gets 200 (twice, as LINE
// redelivers), the text message is answered once, a wrong signature gets
// 4xx and no LINE call, and the log never holds a LINE id.
func TestServeEndToEnd(t *testing.T) {
	const secret = "serve-secret"
	env := redistest.New(t)
	fake := linefake.New(t)
	slackAPI := slackfake.New(t, "xoxb-test")
	withEnv(t, map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "slack-secret", "SLACK_API_BASE_URL": slackAPI.APIURL(),
		"LINE_CHANNEL_SECRET": secret, "LINE_CHANNEL_ACCESS_TOKEN": linefake.Token,
		"LINE_API_BASE_URL": fake.URL, "REDIS_URL": env.URL, "TSUNAGU_KEY_PREFIX": env.Prefix,
		"ADDR": "127.0.0.1:0", "TSUNAGU_WORKERS": "2", "TSUNAGU_SHARDS": "4",
	})
	logs := &serveLog{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() { exit <- runServe(ctx, nil, nil, io.Discard, logs) }()

	base := "http://" + waitForAddr(t, logs)
	if code := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d", code)
	}
	body, err := os.ReadFile("../../bot/testdata/all_events.json")
	if err != nil {
		t.Fatal(err)
	}
	if code := post(t, base+"/webhook/line", body, signBody("wrong", body)); code/100 != 4 {
		t.Fatalf("wrong signature: %d, want 4xx", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(fake.Calls("")); n != 0 {
		t.Fatalf("wrong signature caused %d LINE calls", n)
	}
	for i := 0; i < 2; i++ {
		if code := post(t, base+"/webhook/line", body, signBody(secret, body)); code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, code)
		}
	}
	textAnswers := func() int {
		n := 0
		for _, c := range fake.Sent() {
			if c.ReplyToken == "rt-1" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Sent()) < 13 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d answers", len(fake.Sent()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := textAnswers(); n != 1 {
		t.Errorf("text answered %d times, want 1", n)
	}
	if code := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("server unhealthy after the batch: %d", code)
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if m := regexp.MustCompile(`[UCR][0-9a-f]{32}`).FindString(logs.String()); m != "" {
		t.Errorf("log contains a LINE id %s", m)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON log of a graceful stop:\n%s", logs)
	}
}

func waitForAddr(t *testing.T, logs *serveLog) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // loading the flow is slow under -race on a busy machine
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var l struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "serving" {
				return l.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", logs)
	return ""
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func post(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-Line-Signature", sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestServeRefusesBadSetup(t *testing.T) {
	good := map[string]string{"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "ADDR": "127.0.0.1:0",
		"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "ss"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		say  string
	}{
		{"no secrets", map[string]string{}, nil, 1, "LINE_CHANNEL_SECRET is required"},
		{"no token", with("LINE_CHANNEL_ACCESS_TOKEN", ""), nil, 1, "LINE_CHANNEL_ACCESS_TOKEN is required"},
		{"missing flow", with("TSUNAGU_FLOW", "/nonexistent/flow.yaml"), nil, 1, "flow"},
		{"bad address", with("ADDR", "256.0.0.1:x"), nil, 1, "ADDR"},
		{"stray argument", good, []string{"now"}, 2, "unexpected argument"},
		{"help", good, []string{"-h"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withEnv(t, tt.env)
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := runServe(ctx, tt.args, nil, io.Discard, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.say) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.say)
			}
		})
	}
}

func TestHealthzFollowsRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer rdb.Close()
	h := newRouter(http.NotFoundHandler(), func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	check := func(want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != want {
			t.Errorf("healthz %d, want %d", rec.Code, want)
		}
	}
	check(http.StatusOK)
	srv.Stop()
	check(http.StatusServiceUnavailable)
	srv.Restart()
	check(http.StatusOK)
}
