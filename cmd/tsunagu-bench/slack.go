package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// staff plays the city's staff in the fake Slack: they find a case's card
// and answer in its thread, as the Events API reports it to tsunagu.
type staff struct {
	fake   *slackfake.Server
	secret string
	url    string
	client *http.Client
	seq    int
}

// card finds the case card whose text or blocks contain marker.
func (s *staff) card(marker string) (slackfake.Message, bool) {
	for _, m := range s.fake.Messages() {
		if m.ThreadTS == "" && (strings.Contains(m.Blocks, marker) || strings.Contains(m.Text, marker)) {
			return m, true
		}
	}
	return slackfake.Message{}, false
}

// thread is everything posted in a card's thread, joined.
func (s *staff) thread(card slackfake.Message) (text string, posts int) {
	var b strings.Builder
	for _, m := range s.fake.Thread(card.Channel, card.TS) {
		b.WriteString(m.Text)
		b.WriteString("\n")
		posts++
	}
	return b.String(), posts
}

// reply answers in a card's thread; it reports the status tsunagu gave.
func (s *staff) reply(ctx context.Context, card slackfake.Message, text string) int {
	s.seq++
	ts := fmt.Sprintf("1900000000.%06d", s.seq)
	s.fake.Inject(card.Channel, card.TS, ts, "U0STAFFBENCH", text)
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": fmt.Sprintf("EvBENCH%06d", s.seq),
		"event_time": time.Now().Unix(), "team_id": "T0000001",
		"event": map[string]any{"type": "message", "channel": card.Channel, "user": "U0STAFFBENCH", "text": text,
			"ts": ts, "thread_ts": card.TS, "channel_type": "channel"}})
	now := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(s.secret))
	fmt.Fprintf(mac, "v0:%s:%s", now, body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/slack/events", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", now)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	res, err := s.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
