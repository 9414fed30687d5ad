package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/config"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
	"github.com/tsunagu-city/tsunagu/stats"
)

const (
	loopResident = "U00000000000000000000000000a11ce9"
	loopSlackKey = "slack-signing-secret"
	loopLineKey  = "line-channel-secret"
)

// lineText is a one-event LINE webhook body: the resident writes text.
func lineText(id, replyToken, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"destination": "U00000000000000000000000000000b07",
		"events": []any{map[string]any{
			"type": "message", "mode": "active", "timestamp": time.Now().UnixMilli(),
			"webhookEventId": id, "deliveryContext": map[string]any{"isRedelivery": false},
			"source":     map[string]any{"type": "user", "userId": loopResident},
			"replyToken": replyToken,
			"message":    map[string]any{"id": id, "type": "text", "text": text, "quoteToken": "q"},
		}},
	})
	return b
}

func slackPost(t *testing.T, target, contentType, body string) int {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(loopSlackKey))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeFullLoop runs the whole service as `tsunagu serve` does, against
// a real Redis and fake LINE and Slack APIs: a resident asks for a person, a
// case card appears in Slack, staff answer in the thread and the resident
// gets it on LINE, a note stays internal, the resident's next words reach
// the thread, and closing the case from the card tells the resident.
func TestServeFullLoop(t *testing.T) {
	line := linefake.New(t)
	slackAPI := slackfake.New(t, "xoxb-loop")
	settings := map[string]string{
		"LINE_CHANNEL_SECRET": loopLineKey, "LINE_CHANNEL_ACCESS_TOKEN": linefake.Token, "LINE_API_BASE_URL": line.URL,
		"SLACK_BOT_TOKEN": "xoxb-loop", "SLACK_SIGNING_SECRET": loopSlackKey, "SLACK_API_BASE_URL": slackAPI.APIURL(),
		"ADDR": "127.0.0.1:0",
	}
	maps.Copy(settings, loopRedis(t))
	withEnv(t, settings)
	logs := &serveLog{}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- runServe(ctx, nil, nil, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
		for _, c := range slackAPI.Calls("") {
			if strings.Contains(fmt.Sprint(c), loopResident) {
				t.Errorf("a Slack request carries the LINE userId: %v", c)
			}
		}
		if strings.Contains(logs.String(), loopResident) {
			t.Error("the log carries the LINE userId")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs)
		}
	})
	base := "http://" + waitForAddr(t, logs)
	sendLINE := func(id, token, text string) {
		t.Helper()
		body := lineText(id, token, text)
		if code := post(t, base+"/webhook/line", body, signBody(loopLineKey, body)); code != http.StatusOK {
			t.Fatalf("webhook %d", code)
		}
	}
	pushes := func(sub string) int {
		n := 0
		for _, c := range line.Sent() {
			if c.To == loopResident && strings.Contains(strings.Join(c.Texts(), "\n"), sub) {
				n++
			}
		}
		return n
	}

	start := time.Now()
	sendLINE("01JLOOP000000000000000001", "rt-loop-1", "人と話したい")
	var card slackfake.Message
	waitFor(t, "a case card", func() bool {
		for _, m := range slackAPI.Messages() {
			if m.ThreadTS == "" && strings.Contains(m.Blocks, "担当する") {
				card = m
				return true
			}
		}
		return false
	})
	t.Logf("case card after %v", time.Since(start))
	caseID := regexp.MustCompile(`case:([0-9A-Z]+)`).FindStringSubmatch(card.Blocks)
	if caseID == nil {
		t.Fatalf("no case id in the card blocks: %s", card.Blocks)
	}
	waitFor(t, "the reply to the resident", func() bool { return len(line.Calls(linefake.PathReply)) > 0 })
	// Staff can answer once the card is linked to its case; the card shows
	// up in Slack a moment before that.
	waitFor(t, "the card linked", func() bool { return strings.Contains(logs.String(), `"msg":"case card posted"`) })

	staffEvent := func(id, ts, text string) {
		t.Helper()
		slackAPI.Inject(card.Channel, card.TS, ts, "U0STAFF01", text)
		body, _ := json.Marshal(map[string]any{
			"type": "event_callback", "event_id": id, "event_time": time.Now().Unix(), "team_id": "T0000001",
			"event": map[string]any{"type": "message", "channel": card.Channel, "user": "U0STAFF01",
				"text": text, "ts": ts, "thread_ts": card.TS, "channel_type": "channel"},
		})
		if code := slackPost(t, base+"/slack/events", "application/json", string(body)); code != http.StatusOK {
			t.Fatalf("slack event %d", code)
		}
	}
	staffEvent("Ev0LOOP1", "1800000001.000100", "こんにちは。相談員の者です。どうされましたか")
	waitFor(t, "the staff reply on LINE", func() bool { return pushes("どうされましたか") == 1 })
	staffEvent("Ev0LOOP2", "1800000001.000200", "メモ: 地域包括にも共有")

	sendLINE("01JLOOP000000000000000002", "rt-loop-2", "母のことで相談したいです")
	waitFor(t, "the resident's words in the thread", func() bool {
		for _, m := range slackAPI.Thread(card.Channel, card.TS) {
			if strings.Contains(m.Text, "母のことで相談したいです") {
				return true
			}
		}
		return false
	})
	if n := pushes("地域包括"); n != 0 {
		t.Fatalf("a note reached the resident %d times", n)
	}

	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig-loop",
		"user": map[string]any{"id": "U0STAFF01", "name": "staff"}, "team": map[string]any{"id": "T0000001"},
		"channel":   map[string]any{"id": card.Channel},
		"container": map[string]any{"type": "message", "message_ts": card.TS, "channel_id": card.Channel},
		"actions": []any{map[string]any{"action_id": "close", "block_id": "case:" + caseID[1],
			"type": "button", "value": caseID[1], "action_ts": "1800000002.000001"}},
	})
	if code := slackPost(t, base+"/slack/interactions", "application/x-www-form-urlencoded", "payload="+url.QueryEscape(string(payload))); code != http.StatusOK {
		t.Fatalf("close interaction %d", code)
	}
	closed := serveDefaultText(t, "case_closed")
	waitFor(t, "the resident told the case closed", func() bool { return pushes(closed) == 1 })

	// The month's statistics counted the case, with nothing that names it
	// (on a single Redis or, with -cluster, on a Redis Cluster).
	cfg, err := config.FromEnvFor(func(k string) string { return settings[k] })
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.RedisOptions()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	tokyo := time.FixedZone("JST", 9*3600)
	counted := func(field string) int64 {
		var n int64
		for _, m := range slices.Compact([]string{stats.Month(start, tokyo), stats.Month(time.Now(), tokyo)}) {
			v, _ := rdb.HGet(context.Background(), stats.Key(cfg.KeyPrefix, m), field).Int64()
			n += v
		}
		return n
	}
	waitFor(t, "the case counted as opened and closed", func() bool {
		return counted("opened") == 1 && counted("closed") == 1 && counted("route:unclear") == 1
	})
	for _, m := range []string{stats.Month(start, tokyo)} {
		for f := range rdb.HGetAll(context.Background(), stats.Key(cfg.KeyPrefix, m)).Val() {
			if strings.Contains(f, caseID[1]) || strings.Contains(f, loopResident) {
				t.Errorf("a statistics field names the case or the resident: %s", f)
			}
		}
	}
}

// serveDefaultText is a fixed text of the embedded flow in Japanese.
func serveDefaultText(t *testing.T, key string) string {
	t.Helper()
	f, err := loadServeFlow("")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(f.Text(key, "ja"), "\n")
	return first
}
