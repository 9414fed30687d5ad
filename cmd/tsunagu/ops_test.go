package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// opsServe runs `tsunagu serve` in-process on env's Redis with fake LINE
// and Slack, and returns its base URL; it is stopped when the test ends.
func opsServe(t *testing.T, redisURL string, extra map[string]string) (base string, line *linefake.Server, slackAPI *slackfake.Server, logs *serveLog) {
	t.Helper()
	line = linefake.New(t)
	slackAPI = slackfake.New(t, "xoxb-ops")
	e := map[string]string{
		"LINE_CHANNEL_SECRET": loopLineKey, "LINE_CHANNEL_ACCESS_TOKEN": linefake.Token, "LINE_API_BASE_URL": line.URL,
		"SLACK_BOT_TOKEN": "xoxb-ops", "SLACK_SIGNING_SECRET": loopSlackKey, "SLACK_API_BASE_URL": slackAPI.APIURL(),
		"REDIS_URL": redisURL, "TSUNAGU_KEY_PREFIX": redistest.UniquePrefix(), "ADDR": "127.0.0.1:0",
		"TSUNAGU_SHARDS": "2", "SLACK_AUTH_CHECK_INTERVAL": "100ms",
	}
	for k, v := range extra {
		e[k] = v
	}
	withEnv(t, e)
	logs = &serveLog{}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- runServe(ctx, nil, nil, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("serve exit %d", code)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs)
		}
	})
	return "http://" + waitForAddr(t, logs), line, slackAPI, logs
}

// readyz asks /readyz and says its status, its body and how long it took.
func readyz(t *testing.T, base string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), time.Since(start)
}

// TestReadyzFollowsRedisAndSlack: /readyz is 503 until Slack's auth.test
// passed, 503 while it fails and back to 200 when it passes; 503 within 2
// seconds of Redis stopping, 200 again when it is back; /healthz, the
// liveness probe, and `tsunagu health` agree.
func TestReadyzFollowsRedisAndSlack(t *testing.T) {
	srv := redistest.Start(t)
	base, _, slackAPI, _ := opsServe(t, srv.URL(), nil)
	waitFor(t, "ready", func() bool { code, _, _ := readyz(t, base); return code == http.StatusOK })

	health := func() int {
		var out, errb bytes.Buffer
		return runHealth(context.Background(), []string{"--url", base + "/readyz"}, nil, &out, &errb)
	}
	if code := health(); code != 0 {
		t.Errorf("tsunagu health exit %d while ready", code)
	}

	slackAPI.Fail("auth.test", "token_revoked")
	waitFor(t, "not ready while auth.test fails", func() bool {
		code, body, _ := readyz(t, base)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "token_revoked")
	})
	if code := health(); code != 1 {
		t.Errorf("tsunagu health exit %d while Slack refuses the token, want 1", code)
	}
	if code := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz %d: liveness does not depend on Slack", code)
	}
	slackAPI.Fail("auth.test", "")
	waitFor(t, "ready again", func() bool { code, _, _ := readyz(t, base); return code == http.StatusOK })

	srv.Stop()
	code, body, took := readyz(t, base)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "redis") {
		t.Errorf("readyz %d %q with Redis stopped, want 503 naming redis", code, body)
	}
	if took > 2*time.Second {
		t.Errorf("readyz took %v to say Redis is gone, want under 2s", took)
	}
	t.Logf("readyz answered %d %v after Redis stopped", code, took)
	if code := health(); code != 1 {
		t.Errorf("tsunagu health exit %d with Redis stopped, want 1", code)
	}
	srv.Restart()
	waitFor(t, "ready after Redis came back", func() bool { code, _, _ := readyz(t, base); return code == http.StatusOK })
}

// TestReadyzBeforeSlackAuth: a token Slack refuses from the start keeps
// /readyz at 503 with the reason.
func TestReadyzBeforeSlackAuth(t *testing.T) {
	env := redistest.New(t)
	base, _, slackAPI, _ := opsServe(t, env.URL, map[string]string{"SLACK_AUTH_CHECK_INTERVAL": "50ms"})
	slackAPI.Fail("auth.test", "invalid_auth")
	// The first auth.test may have passed before Fail: the recheck sees it.
	waitFor(t, "not ready", func() bool {
		code, body, _ := readyz(t, base)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "invalid_auth")
	})
}

// TestSIGHUPReloadsFlow is the "done when": SIGHUP with a broken
// flow keeps the webhook answering with the old flow (and logs the problem
// as file:line:col); SIGHUP with a good flow changes the next answer. The
// signal is real: serve catches it, so the test process lives on.
func TestSIGHUPReloadsFlow(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile("../../flows/testdata/mini/flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "flow.yaml")
	write := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(orig)
	env := redistest.New(t)
	base, line, _, logs := opsServe(t, env.URL, map[string]string{"TSUNAGU_FLOW": dir})

	n := 0
	// ask has a new resident write, and returns the answer they got.
	ask := func() string {
		t.Helper()
		n++
		user := fmt.Sprintf("U%032x", 0xfeed0000+n)
		id := fmt.Sprintf("01JHUP%020d", n)
		token := fmt.Sprintf("rt-hup-%d", n)
		body := lineTextFrom(user, id, token, "こんにちは")
		if code := post(t, base+"/webhook/line", body, signBody(loopLineKey, body)); code != http.StatusOK {
			t.Fatalf("webhook %d", code)
		}
		var answer string
		waitFor(t, "an answer", func() bool {
			for _, c := range line.Sent() {
				if c.ReplyToken == token {
					answer = strings.Join(c.Texts(), "\n")
					return true
				}
			}
			return false
		})
		return answer
	}
	hup := func(wantLog string) {
		t.Helper()
		before := strings.Count(logs.String(), wantLog)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, wantLog, func() bool { return strings.Count(logs.String(), wantLog) > before })
	}

	first := ask()
	if !strings.Contains(first, "匿名で相談できます") {
		t.Fatalf("first answer %q, want the mini flow's privacy notice", first)
	}

	// Broken: a state that goes nowhere.
	write(bytes.Replace(orig, []byte("start: welcome"), []byte("start: nowhere_at_all"), 1))
	hup("flow reload refused")
	if !regexp.MustCompile(`"problem":"[^"]*flow\.yaml:\d+:\d+: `).MatchString(logs.String()) {
		t.Errorf("the refused flow's problem is not logged as file:line:col:\n%s", logs)
	}
	if got := ask(); got != first {
		t.Errorf("after a broken reload the answer is %q, want the old flow's %q", got, first)
	}
	if code, body, _ := readyz(t, base); code != http.StatusOK {
		t.Errorf("readyz %d %q after a refused reload: the old flow still serves", code, body)
	}

	// Good: the privacy notice says something new.
	write(bytes.Replace(orig, []byte("privacy: {ja: 匿名で相談できます。"), []byte("privacy: {ja: 名前は要りません（新しいフロー）。"), 1))
	hup("flow reloaded")
	if got := ask(); !strings.Contains(got, "名前は要りません（新しいフロー）") {
		t.Errorf("after a good reload the answer is %q, want the new flow's", got)
	}

	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, want := range []string{`tsunagu_flow_reloads_total{result="refused"} 1`, `tsunagu_flow_reloads_total{result="ok"} 1`,
		`tsunagu_flow_info{hash="`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if c := strings.Count(string(b), "tsunagu_flow_info{"); c != 1 {
		t.Errorf("%d flow_info series, want only the running flow's", c)
	}
}

// TestMetricsAfterAHandoff: after a resident asks for a person and LINE
// answered, /metrics (client_golang, all tsunagu_*) counts the webhook
// request, the events, LINE's and Slack's calls, the handoff by category
// and the case waiting unclaimed; no LINE id appears in any label.
func TestMetricsAfterAHandoff(t *testing.T) {
	env := redistest.New(t)
	base, line, slackAPI, _ := opsServe(t, env.URL, nil)
	line.Fail("/v2/bot/message/reply", 500) // one retried 500, logged
	body := lineText("01JMETRICS0000000000000001", "rt-metrics-1", "人と話したい")
	if code := post(t, base+"/webhook/line", body, signBody(loopLineKey, body)); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	waitFor(t, "the case card", func() bool { return len(slackAPI.Calls("chat.postMessage")) > 0 })
	scrape := func() string {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	var out string
	waitFor(t, "events processed", func() bool {
		out = scrape()
		return strings.Contains(out, "tsunagu_events_processed_total 1")
	})
	for _, want := range []string{
		`tsunagu_webhook_requests_total{code="200",route="line"} 1`,
		"tsunagu_events_accepted_total 1",
		`tsunagu_line_request_duration_seconds_count{code="500",op="reply"} 1`,
		`tsunagu_line_request_duration_seconds_count{code="200",op="reply"} 1`,
		`tsunagu_slack_request_duration_seconds_count{code="ok",method="auth.test"}`,
		`tsunagu_slack_request_duration_seconds_count{code="ok",method="chat.postMessage"}`,
		`tsunagu_handoffs_total{category="general",urgent="false"} 1`,
		"tsunagu_intake_lag_seconds_count 1",
		`tsunagu_intake_pending_events{shard="0"}`,
		"tsunagu_cases_open 1", "tsunagu_cases_unclaimed 1",
		"tsunagu_oldest_unclaimed_urgent_case_age_seconds 0",
		"tsunagu_redis_roundtrips_total", "tsunagu_go_goroutines", "tsunagu_slack_ready 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	waitFor(t, "the case counted in the statistics", func() bool {
		out = scrape()
		return strings.Contains(out, "tsunagu_stats_events_written_total 1\n")
	})
	if !strings.Contains(out, "tsunagu_stats_events_dropped_total 0\n") {
		t.Error("statistics events were dropped")
	}
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "tsunagu_") {
			t.Errorf("metric not prefixed tsunagu_: %s", l)
		}
	}
	if strings.Contains(out, loopResident) {
		t.Error("a LINE id in the metrics")
	}
}

// TestServeCheck: serve --check passes the embedded flow with its tests,
// and fails a broken flow with file:line:col.
func TestServeCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte("version: 1\nname: broken\nstart: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		code int
		say  string
	}{
		{"embedded flow and its tests", map[string]string{}, 0, "passed, 0 failed"},
		{"broken flow", map[string]string{"TSUNAGU_FLOW": dir}, 1, "flow.yaml:"},
		{"flow without tests", map[string]string{"TSUNAGU_FLOW": "../../flows/testdata/mini"}, 0, "only the lint ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withEnv(t, tt.env)
			var out, errb bytes.Buffer
			code := runServe(context.Background(), []string{"--check"}, nil, &out, &errb)
			if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.say) {
				t.Errorf("exit %d, output %q %q; want %d and %q", code, out.String(), errb.String(), tt.code, tt.say)
			}
		})
	}
}

func TestReadyURL(t *testing.T) {
	for addr, want := range map[string]string{
		"": "http://127.0.0.1:8080/readyz", ":9000": "http://127.0.0.1:9000/readyz",
		"0.0.0.0:80": "http://127.0.0.1:80/readyz", "10.0.0.5:8080": "http://10.0.0.5:8080/readyz",
		"[::]:8080": "http://127.0.0.1:8080/readyz",
	} {
		if got := readyURL(addr); got != want {
			t.Errorf("readyURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
