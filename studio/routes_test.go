package studio

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// request sends one request to the studio's handler and returns the answer.
func request(t *testing.T, h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("not JSON (%d): %s", w.Code, w.Body)
	}
	return v
}

func TestPageAndAssetsAreServedFromTheBinary(t *testing.T) {
	st, err := New(Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/", `<script src="/assets/studio.js"`},
		{"/assets/studio.js", "function showTab"},
		{"/assets/studio.css", "--chat-bg"},
		{"/assets/mermaid.min.js", "mermaid"},
		{"/assets/mermaid.LICENSE", "MIT License"},
	}
	for _, tt := range tests {
		w := request(t, st, "GET", tt.path, "")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("GET %s: %d, want %q in the body", tt.path, w.Code, tt.want)
		}
	}
	if csp := request(t, st, "GET", "/", "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("the page must load nothing from elsewhere; CSP %q", csp)
	}
}

func TestEmbeddedFlowIsReadOnly(t *testing.T) {
	st, err := New(Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	v := decode[FlowView](t, request(t, st, "GET", "/api/flow", ""))
	if !v.ReadOnly || !v.Runnable || v.Start != "welcome" || !strings.HasPrefix(v.Graph, "stateDiagram") || len(v.States) == 0 {
		t.Errorf("flow view of the embedded flow: %+v", v)
	}
	w := request(t, st, "POST", "/api/tests", `{"name":"x","turns":[{"kind":"say","text":"x"}]}`)
	if w.Code != http.StatusForbidden {
		t.Errorf("saving a test into the embedded flow: %d %s", w.Code, w.Body)
	}
	tests := decode[TestsResult](t, request(t, st, "GET", "/api/tests", ""))
	if tests.Passed == 0 || tests.Failed != 0 {
		t.Errorf("the default flow's own tests: %d passed, %d failed", tests.Passed, tests.Failed)
	}
}

func TestAPIOnAFolder(t *testing.T) {
	dir := copyFlow(t)
	if err := os.RemoveAll(filepath.Join(dir, "tests")); err != nil {
		t.Fatal(err)
	}
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[TestsResult](t, request(t, st, "GET", "/api/tests", "")); len(got.Runs) != 0 || got.NotRun != "" {
		t.Errorf("a flow without tests: %+v", got)
	}
	step := decode[StepResult](t, request(t, st, "POST", "/api/step", `{"turn":{"kind":"say","text":"しにたい"}}`))
	if step.Session.State != "handoff_urgent" || step.Why == nil {
		t.Errorf("step: %+v", step)
	}
	saved := decode[SavedTest](t, request(t, st, "POST", "/api/tests", `{"name":"しにたい","turns":[{"kind":"say","text":"しにたい"}]}`))
	if saved.File != "tests/studio-01.yaml" || !strings.Contains(saved.YAML, "urgent: true") {
		t.Errorf("saved: %+v", saved)
	}
	got := decode[TestsResult](t, request(t, st, "GET", "/api/tests", ""))
	if len(got.Runs) != 1 || !got.Runs[0].Passed || got.Runs[0].File != "tests/studio-01.yaml" || got.Runs[0].Name != "しにたい" {
		t.Errorf("after saving: %+v", got)
	}
	bench := decode[BenchResult](t, request(t, st, "POST", "/api/bench", `{"text":"死にたい\n家賃が払えない"}`))
	if bench.Crisis != 1 || bench.Calm != 1 {
		t.Errorf("bench: %+v", bench)
	}
	for _, bad := range []struct{ path, body string }{
		{"/api/step", `{"turn":{"kind":"wave"}}`},
		{"/api/step", `{not json`},
		{"/api/tests", `{"name":"","turns":[]}`},
		{"/api/bench", `{"text":"maybe\tx"}`},
	} {
		w := request(t, st, "POST", bad.path, bad.body)
		if w.Code != http.StatusBadRequest || decode[apiError](t, w).Error == "" {
			t.Errorf("POST %s %s: %d %s, want 400 with a reason", bad.path, bad.body, w.Code, w.Body)
		}
	}
}

func TestAFlowWithProblemsIsShownNeverRun(t *testing.T) {
	dir := flowWith(t, change{"states.yaml", "next: ask_who\n", "next: ask_whoo\n"},
		change{"tests/bad.yaml", "", "tests:\n  - name: [\n"})
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	v := decode[FlowView](t, request(t, st, "GET", "/api/flow", ""))
	if v.Runnable || len(v.Problems) != 1 || v.Graph == "" || len(v.States) == 0 {
		t.Fatalf("want one problem, a map and the states, not runnable: %+v", v)
	}
	p := v.Problems[0]
	if p.File != "states.yaml" || p.Line == 0 || p.MessageJa == "" || p.Excerpt == nil || !strings.Contains(strings.Join(p.Excerpt.Lines, "\n"), "ask_whoo") {
		t.Errorf("problem: %+v", p)
	}
	for _, path := range []string{"/api/step", "/api/bench", "/api/tests"} {
		if w := request(t, st, "POST", path, `{"text":"x","name":"x","turns":[{"kind":"say","text":"x"}],"turn":{"kind":"say","text":"x"}}`); w.Code != http.StatusConflict {
			t.Errorf("POST %s on a flow with problems: %d, want 409", path, w.Code)
		}
	}
	if got := decode[TestsResult](t, request(t, st, "GET", "/api/tests", "")); got.NotRun == "" {
		t.Errorf("tests must not run on a flow with problems: %+v", got)
	}

	// Fixed, the flow runs, and the broken test file is a problem of its own.
	edit(t, filepath.Join(dir, "states.yaml"), func(s string) string { return strings.Replace(s, "ask_whoo", "ask_who", 1) })
	st.Reload()
	got := decode[TestsResult](t, request(t, st, "GET", "/api/tests", ""))
	if len(got.Problems) == 0 || got.Problems[0].File != "tests/bad.yaml" || got.Problems[0].Excerpt == nil {
		t.Errorf("a broken test file: %+v", got.Problems)
	}
}

func TestGuard(t *testing.T) {
	open, err := New(Options{Logger: quietLogger(t), Hosts: []string{"127.0.0.1:8787", "localhost:8787"}})
	if err != nil {
		t.Fatal(err)
	}
	locked, err := New(Options{Logger: quietLogger(t), Password: "秘密のことば"})
	if err != nil {
		t.Fatal(err)
	}
	step := `{"turn":{"kind":"say","text":"こんにちは"}}`
	tests := []struct {
		name   string
		h      http.Handler
		method string
		path   string
		body   string
		header []string
		want   int
	}{
		{"own host", open, "GET", "/api/flow", "", []string{"Host", "127.0.0.1:8787"}, 200},
		{"localhost", open, "GET", "/", "", []string{"Host", "localhost:8787"}, 200},
		{"rebound name", open, "GET", "/api/flow", "", []string{"Host", "evil.example:8787"}, http.StatusMisdirectedRequest},
		{"same origin", open, "POST", "/api/step", step, []string{"Host", "127.0.0.1:8787", "Origin", "http://127.0.0.1:8787"}, 200},
		{"other origin", open, "POST", "/api/step", step, []string{"Host", "127.0.0.1:8787", "Origin", "http://evil.example"}, http.StatusForbidden},
		{"form post", open, "POST", "/api/step", step, []string{"Host", "127.0.0.1:8787", "Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"no password", locked, "GET", "/", "", nil, http.StatusUnauthorized},
		{"wrong password", locked, "GET", "/", "", []string{"Authorization", "Basic " + basic("staff", "ちがう")}, http.StatusUnauthorized},
		{"password", locked, "GET", "/api/flow", "", []string{"Authorization", "Basic " + basic("staff", "秘密のことば")}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := request(t, tt.h, tt.method, tt.path, tt.body, tt.header...)
			if w.Code != tt.want {
				t.Errorf("%s %s: %d, want %d (%s)", tt.method, tt.path, w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a basic auth challenge")
			}
		})
	}
}

func basic(user, pass string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestEventsStreamTheVersion(t *testing.T) {
	dir := copyFlow(t)
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return v
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return ""
	}
	if v := next(); v != "1" {
		t.Errorf("first event %q, want the current version 1", v)
	}
	st.Reload()
	if v := next(); v != "2" {
		t.Errorf("after a reload %q, want 2", v)
	}
}
