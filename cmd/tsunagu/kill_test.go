package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

var (
	killEvents  = flag.Int("kill.events", 3000, "events of TestKill9MidLoad (make bench runs 20000)")
	killSenders = flag.Int("kill.senders", 4, "concurrent webhook deliveries in TestKill9MidLoad")
)

// TestMain lets a test start this very binary as `tsunagu serve`, in a
// process of its own that it can kill.
func TestMain(m *testing.M) {
	if os.Getenv("TSUNAGU_TEST_SERVE") == "1" {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		os.Exit(run(ctx, []string{"serve"}, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// killScripts are conversations the default flow answers at every step.
var killScripts = [][]string{
	{"こんにちは", "pb:welcome:3", "家賃が払えなくて困っています", "pb:ask_who:0"},
	{"すみません", "相談してもいいですか", "母の介護のことで", "pb:confirm:1"},
	{"ゴミの日はいつですか", "pb:welcome:10", "よろしく", "pb:ask_who:1"},
}

// killEvent is one event of the load: its webhook body and how an answer
// to it is recognised (its reply token, or the retry key of a push).
type killEvent struct {
	body            []byte
	token, retryKey string
}

func killLoad(t *testing.T, n int) []killEvent {
	t.Helper()
	f := flows.Default()
	for _, sc := range killScripts {
		var s flows.Session
		for _, l := range sc {
			in := flows.Input{Kind: flows.InputText, Text: l, Now: time.Now()}
			if data, ok := strings.CutPrefix(l, "pb:"); ok {
				in = flows.Input{Kind: flows.InputChoice, Text: data, Now: time.Now()}
			}
			var acts []flows.Action
			s, acts = f.Step(s, in)
			answered := false
			for _, a := range acts {
				if _, ok := a.(flows.Reply); ok {
					answered = true
				}
				if _, ok := a.(flows.Handoff); ok {
					t.Fatalf("script %q hands off at %q: the flow changed", sc, l)
				}
			}
			if !answered {
				t.Fatalf("script %q is not answered at %q: the flow changed", sc, l)
			}
		}
	}
	events := make([]killEvent, 0, n)
	for r := 0; len(events) < n; r++ {
		user := fmt.Sprintf("U%032x", 0xdead0000+r)
		for _, l := range killScripts[r%len(killScripts)] {
			if len(events) == n {
				break
			}
			i := len(events)
			id := fmt.Sprintf("01JKILL%019d", i)
			token := fmt.Sprintf("rt-kill-%d", i)
			ev := map[string]any{"mode": "active", "timestamp": time.Now().UnixMilli(), "webhookEventId": id,
				"deliveryContext": map[string]any{"isRedelivery": false}, "replyToken": token,
				"source": map[string]any{"type": "user", "userId": user}}
			if data, ok := strings.CutPrefix(l, "pb:"); ok {
				ev["type"], ev["postback"] = "postback", map[string]any{"data": data}
			} else {
				ev["type"], ev["message"] = "message", map[string]any{"id": "m" + id, "type": "text", "text": l, "quoteToken": "q"}
			}
			body, _ := json.Marshal(map[string]any{"destination": "Ubot", "events": []any{ev}})
			events = append(events, killEvent{body: body, token: token, retryKey: bot.RetryKey(id, 0)})
		}
	}
	return events
}

// serveProcess is a `tsunagu serve` started by a test.
type serveProcess struct {
	cmd *exec.Cmd
	url string
	log string
}

func startServeProcess(t *testing.T, env []string, logName string) *serveProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &serveProcess{url: "http://" + addr, log: filepath.Join(t.TempDir(), logName)}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(append(os.Environ(), env...), "TSUNAGU_TEST_SERVE=1", "ADDR="+addr)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("serve did not start:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKill9MidLoad kills `tsunagu serve` with SIGKILL in the middle of a
// load and starts another: LINE delivers again whatever was not answered
// 200, as it does, and in the end every event is answered (none lost), and
// at most 1% twice (an answer sent and the process killed before it was
// acknowledged: it is pushed once more, at-least-once on purpose).
func TestKill9MidLoad(t *testing.T) {
	const secret = "kill-line-secret"
	n := *killEvents
	events := killLoad(t, n)
	env := redistest.New(t)
	line := linefake.New(t)
	line.Light()
	slackAPI := slackfake.New(t, "xoxb-kill")
	cfg := []string{
		"LINE_CHANNEL_SECRET=" + secret, "LINE_CHANNEL_ACCESS_TOKEN=" + linefake.Token, "LINE_API_BASE_URL=" + line.URL,
		"SLACK_BOT_TOKEN=xoxb-kill", "SLACK_SIGNING_SECRET=s", "SLACK_API_BASE_URL=" + slackAPI.APIURL(),
		"REDIS_URL=" + env.URL, "TSUNAGU_KEY_PREFIX=" + env.Prefix, "TSUNAGU_CLAIM_AFTER=2s",
		"TSUNAGU_RESIDENT_LIMIT=0",
	}
	first := startServeProcess(t, cfg, "serve-1.log")
	var url atomic.Value
	url.Store(first.url)

	// Senders play LINE: each event until it is answered 200, again after
	// any failure (LINE redelivers), in each resident's order.
	var acked atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(body []byte) bool {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req, _ := http.NewRequest(http.MethodPost, url.Load().(string)+"/webhook/line", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		res, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	per := len(killScripts[0])
	residents := (n + per - 1) / per
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range *killSenders {
		wg.Go(func() {
			for {
				r := int(next.Add(1)) - 1
				if r >= residents {
					return
				}
				for i := r * per; i < min((r+1)*per, n); i++ {
					for !post(events[i].body) {
						time.Sleep(20 * time.Millisecond)
					}
					acked.Add(1)
				}
			}
		})
	}
	// Mid-load: kill -9, and a new process takes over.
	for acked.Load() < int64(n*2/5) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := acked.Load()
	second := startServeProcess(t, cfg, "serve-2.log")
	url.Store(second.url)
	wg.Wait()

	answers := func() map[int]int {
		byToken := make(map[string]int, n)
		byKey := make(map[string]int, n)
		for i, e := range events {
			byToken[e.token], byKey[e.retryKey] = i, i
		}
		got := map[int]int{}
		for _, c := range line.Calls("") {
			if c.Status != http.StatusOK {
				continue
			}
			if i, ok := byToken[c.ReplyToken]; ok && c.Path == linefake.PathReply {
				got[i]++
			}
			if i, ok := byKey[c.RetryKey]; ok && c.Path == linefake.PathPush {
				got[i]++
			}
		}
		return got
	}
	deadline := time.Now().Add(2 * time.Minute)
	got := answers()
	for len(got) < n && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = answers()
	}
	lost, dups := 0, 0
	for i := range events {
		switch c := got[i]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	t.Logf("%d events, serve killed (SIGKILL) after %d were acknowledged; %d lost, %d answered twice (%.2f%%)",
		n, killedAt, lost, dups, 100*float64(dups)/float64(n))
	if lost > 0 {
		b, _ := os.ReadFile(second.log)
		t.Errorf("%d events never answered; second serve's log:\n%s", lost, tail(string(b), 40))
	}
	if dups*100 > n {
		b, _ := os.ReadFile(second.log)
		t.Errorf("%d events answered twice, more than 1%%; second serve's log:\n%s", dups, tail(string(b), 60))
		shown := 0
		for i, e := range events {
			if got[i] > 1 && shown < 3 {
				shown++
				for _, c := range line.Calls("") {
					if c.ReplyToken == e.token || c.RetryKey == e.retryKey {
						t.Logf("event %d: %s %d", i, c.Path, c.Status)
					}
				}
			}
		}
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
