package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
)

func TestWebhookRefusesBadRequests(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	body := textEvent("01JSIG", "U000000000000000000000000000000a1", "rt-sig", "こんにちは")
	tests := []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"missing signature", body, "", http.StatusUnauthorized},
		{"wrong signature", body, sign("another-secret", body), http.StatusUnauthorized},
		{"not base64", body, "%%%", http.StatusUnauthorized},
		{"signature of another body", body, sign(testSecret, []byte("{}")), http.StatusUnauthorized},
		{"too large", bytes.Repeat([]byte(" "), MaxBody+1), "x", http.StatusRequestEntityTooLarge},
		{"signed but not JSON", []byte("not json"), sign(testSecret, []byte("not json")), http.StatusBadRequest},
		{"verification (no events)", []byte(`{"destination":"U1","events":[]}`), sign(testSecret, []byte(`{"destination":"U1","events":[]}`)), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.postSig(tt.body, tt.sig); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
	settle()
	if n := len(r.fake.Calls("")); n != 0 {
		t.Errorf("LINE was called %d times for refused requests", n)
	}
	if n := r.backlog(); n != 0 {
		t.Errorf("%d refused events reached the intake", n)
	}
}

// TestAllEventTypes delivers one event of every type LINE's webhook.yml
// lists (plus types the SDK does not know) and checks each gets its answer
// or is skipped, with 200 and no personal data in the logs.
func TestAllEventTypes(t *testing.T) {
	r := newRig(t, rigOptions{})
	body, err := os.ReadFile("testdata/all_events.json")
	if err != nil {
		t.Fatal(err)
	}
	r.workers("w", nil)
	if got := r.post(body); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	// Users 1-7 (text and every media type), 8 and 9 (group and room), 11
	// (follow), 13 (join), 17 (postback) and 30 (unknown message type)
	// get exactly one reply each, with their own token; nothing else does.
	want := map[string]bool{"rt-1": true, "rt-2": true, "rt-3": true, "rt-4": true, "rt-5": true, "rt-6": true,
		"rt-7": true, "rt-8": true, "rt-9": true, "rt-follow": true, "rt-join": true, "rt-postback": true, "rt-30": true}
	r.eventually("every answer", func() bool { return len(r.fake.Sent()) >= len(want) && r.backlog() == 0 })
	settle()
	got := map[string]int{}
	for _, c := range r.fake.Sent() {
		if c.ReplyToken == "" {
			t.Errorf("unexpected push to %s", c.To)
		}
		got[c.ReplyToken]++
	}
	for tok := range want {
		if got[tok] != 1 {
			t.Errorf("reply %s sent %d times, want 1", tok, got[tok])
		}
	}
	for tok, n := range got {
		if !want[tok] {
			t.Errorf("unexpected reply %s (%d times)", tok, n)
		}
	}
	// Groups and rooms are told that consultations are one-to-one, then left.
	notice := r.flow.Text("group_notice", r.flow.Locale())
	for _, c := range r.fake.Sent() {
		if (c.ReplyToken == "rt-8" || c.ReplyToken == "rt-9" || c.ReplyToken == "rt-join") && c.Texts()[0] != notice {
			t.Errorf("%s: got %q, want the group notice", c.ReplyToken, c.Texts())
		}
	}
	leaves := map[string]int{}
	for _, c := range r.fake.Calls("") {
		if strings.HasSuffix(c.Path, "/leave") {
			leaves[c.Path]++
		}
	}
	if leaves["/v2/bot/group/C00000000000000000000000000c0ffee/leave"] < 1 || leaves["/v2/bot/room/R0000000000000000000000000000beef/leave"] != 1 {
		t.Errorf("leave calls = %v", leaves)
	}
	// The sticker answer is the flow's gentle non-text text.
	nonText := r.flow.Text("non_text", r.flow.Locale())
	for _, c := range r.fake.Sent() {
		if c.ReplyToken == "rt-7" && !strings.Contains(strings.Join(c.Texts(), "\n"), nonText) {
			t.Errorf("sticker answer %q lacks the non_text text", c.Texts())
		}
	}
	assertNoPersonalData(t, r.logs.String(), body)
}

var lineIDRe = regexp.MustCompile(`[UCR][0-9a-f]{32}`)

// assertNoPersonalData fails when a log holds a LINE user, group or room id
// or a text a resident wrote.
func assertNoPersonalData(t *testing.T, logs string, bodies ...[]byte) {
	t.Helper()
	if logs == "" {
		t.Fatal("no logs captured")
	}
	if m := lineIDRe.FindString(logs); m != "" {
		t.Errorf("logs contain a LINE id %s", m)
	}
	for _, b := range bodies {
		var req struct {
			Events []struct {
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
			} `json:"events"`
		}
		_ = json.Unmarshal(b, &req)
		for _, e := range req.Events {
			if e.Message.Text != "" && strings.Contains(logs, e.Message.Text) {
				t.Errorf("logs contain a resident's text %q", e.Message.Text)
			}
		}
	}
}

func TestParseEventsSkipsWhatIsNotActedOn(t *testing.T) {
	body, err := os.ReadFile("testdata/all_events.json")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	entries, err := ParseEvents(body, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		got[fmt.Sprintf("%d/%s/%s", e.Kind, e.Source, e.Event)]++
		if e.ID == "" || e.To == "" || e.At.IsZero() {
			t.Errorf("incomplete entry %+v", e)
		}
	}
	want := map[string]int{
		fmt.Sprintf("%d/user/", KindText): 1, fmt.Sprintf("%d/user/", KindChoice): 1,
		fmt.Sprintf("%d/user/image", KindEvent): 1, fmt.Sprintf("%d/user/video", KindEvent): 1,
		fmt.Sprintf("%d/user/audio", KindEvent): 1, fmt.Sprintf("%d/user/file", KindEvent): 1,
		fmt.Sprintf("%d/user/location", KindEvent): 1, fmt.Sprintf("%d/user/sticker", KindEvent): 1,
		fmt.Sprintf("%d/user/message", KindEvent): 1, fmt.Sprintf("%d/user/follow", KindEvent): 1,
		fmt.Sprintf("%d/user/", KindUnfollow): 1, fmt.Sprintf("%d/user/", KindUnsend): 1,
		fmt.Sprintf("%d/group/", KindGroup): 2, fmt.Sprintf("%d/room/", KindGroup): 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d entries, want %d", k, got[k], n)
		}
	}
	if len(entries) != 15 {
		t.Errorf("%d entries, want 15: %v", len(entries), got)
	}
	if e := entries[0]; e.Text != "こんにちは" || e.Token != "rt-1" || e.At.UnixMilli() != 1767225600001 {
		t.Errorf("text entry %+v: want its text, reply token and time", e)
	}
	for _, typ := range []string{"memberJoined", "memberLeft", "leave", "videoPlayComplete", "beacon",
		"accountLink", "membership", "module", "activated", "deactivated", "botSuspended", "botResumed",
		"delivery", "things", "somethingNew"} {
		if !strings.Contains(logs.String(), "type="+typ) {
			t.Errorf("skipped %s not logged", typ)
		}
	}
}

// FuzzWebhook sends arbitrary signed bodies through the real handler and
// Redis: whatever LINE (or a holder of the secret) sends, the answer is 200
// or 400, never a 5xx or a panic.
func FuzzWebhook(f *testing.F) {
	body, err := os.ReadFile("testdata/all_events.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add(textEvent("01F", "U1", "rt", "x"))
	f.Add([]byte(`{"events":[{"type":"message","source":{"type":"user"},"message":{"type":"text"}}]}`))
	f.Add([]byte(`{"events":[{"type":"message","message":null},{"type":null},1,"x",[]]}`))
	f.Add([]byte(`{"events":null}`))
	env := redistest.New(f)
	opt, _ := redis.ParseURL(env.URL)
	rdb := redis.NewClient(opt)
	f.Cleanup(func() { _ = rdb.Close() })
	h := &Webhook{Secret: testSecret, Intake: NewIntake(rdb, IntakeOptions{Prefix: env.Prefix, Shards: 2, AddTimeout: 300 * time.Millisecond}),
		Log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptestRequest(body)
		rec := httptestRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
