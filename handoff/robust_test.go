package handoff

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
)

// The staff reply goes out through bot's real LINE sender to the fake LINE
// API; handling the same Slack event again (a crash before the queue ack)
// is refused by LINE through the retry key, so the resident gets it once.
func TestStaffReplyThroughLINESender(t *testing.T) {
	line := linefake.New(t)
	sender, err := bot.NewLINE(bot.LINEOptions{Token: linefake.Token, BaseURL: line.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil)
	h.svc.push = sender
	c := h.open(general, "k1")
	body := eventBody(msg{EventID: "Ev0LINE01", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "お電話もできますよ"}, "1800000001.000001")
	if w := serve(h.ev, signed("/slack/events", body, time.Now(), secret)); w.Code != 200 {
		t.Fatalf("event got %d", w.Code)
	}
	h.eventually("LINE push", func() bool { return len(line.Sent()) == 1 })
	p := line.Sent()[0]
	if p.To != resident || p.RetryKey == "" || len(p.Texts()) != 1 || p.Texts()[0] != "【相談員】\nお電話もできますよ" {
		t.Errorf("LINE push to %q key %q texts %q", p.To, p.RetryKey, p.Texts())
	}
	if err := h.svc.handleEvent(context.Background(), []byte(body)); err != nil {
		t.Fatalf("handling the event again: %v", err)
	}
	if n := len(line.Sent()); n != 1 {
		t.Errorf("%d pushes accepted by LINE, want 1", n)
	}
	if n := len(line.Calls(linefake.PathPush)); n != 2 {
		t.Errorf("%d push calls, want 2 (the repeat refused as a duplicate)", n)
	}
}

// With Redis gone the events endpoint answers 5xx so Slack retries; once
// Redis is back the retried event is taken and relayed.
func TestEventsWhileRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	env := redistest.Env{URL: srv.URL(), Prefix: redistest.UniquePrefix(), Server: srv}
	h := newHarnessOn(t, env, nil)
	c := h.open(general, "k1")
	body := eventBody(msg{EventID: "Ev0DOWN01", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "届きますか"}, "1800000001.000001")

	srv.Stop()
	if w := serve(h.ev, signed("/slack/events", body, time.Now(), secret)); w.Code < 500 {
		t.Fatalf("with Redis down the event got %d, want 5xx", w.Code)
	}
	srv.Restart()
	// A Redis without persistence lost the case too: store it again as
	// the test's stand-in for a persistent Redis.
	b, _ := json.Marshal(c)
	h.rdb.Set(context.Background(), h.svc.st.caseKey(c.ID), b, 0)
	h.rdb.Set(context.Background(), h.svc.st.residentKey(c.ID), resident, 0)
	h.rdb.Set(context.Background(), h.svc.st.threadKey(c.Home.Channel, c.Home.TS), c.ID, 0)

	h.eventually("Redis back", func() bool {
		r := signed("/slack/events", body, time.Now(), secret)
		r.Header.Set("X-Slack-Retry-Num", "1")
		return serve(h.ev, r).Code == http.StatusOK
	})
	h.eventually("relayed after recovery", func() bool { return anyPushContains(h.push.pushes(), "届きますか") })
}

// Work a crashed consumer read but never acknowledged is taken over by a
// live one after ClaimAfter.
func TestCrashedWorkerWorkIsTakenOver(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	rdb := env.Client(t)
	// Before the service starts: a case, and an event a consumer read and then died on.
	st := &store{rdb: rdb, prefix: env.Prefix, now: time.Now, openMax: time.Hour, retention: time.Hour}
	c := &Case{Categories: []string{"general"}, Teams: []string{"general"}, Status: StatusOpen, Locale: "ja",
		Home: &Post{Channel: "C0000001", TS: "1700000000.000001", Category: "general"}}
	if _, err := st.create(ctx, c, resident); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	rdb.Set(ctx, st.caseKey(c.ID), b, 0)
	if err := st.linkThread(ctx, c.Home.Channel, c.Home.TS, c.ID); err != nil {
		t.Fatal(err)
	}
	queue := env.Prefix + "{handoff}:queue"
	if err := rdb.XGroupCreateMkStream(ctx, queue, group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	body := eventBody(msg{EventID: "Ev0CRASH1", Channel: c.Home.Channel, ThreadTS: c.Home.TS, User: "U0STAFF1", Text: "引き継ぎ"}, "1800000001.000001")
	tb, _ := json.Marshal(task{Kind: kindEvent, Raw: json.RawMessage(body)})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: queue, Values: []string{"t", string(tb)}})
	got, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead", Streams: []string{queue, ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(got) != 1 || len(got[0].Messages) != 1 {
		t.Fatalf("dead consumer read %v %v", got, err)
	}

	h := newHarnessOn(t, env, func(c *Config) { c.ClaimAfter = 300 * time.Millisecond })
	h.eventually("taken over", func() bool { return anyPushContains(h.push.pushes(), "引き継ぎ") })
	h.eventually("acknowledged", func() bool {
		n, err := h.rdb.XPending(ctx, queue, group).Result()
		return err == nil && n.Count == 0
	})
}

// The resident of the first "done when": someone writes 人と話したい
// to the city's default flow, and a card appears in よろず相談's channel.
func TestDefaultFlowHumanRequest(t *testing.T) {
	env := redistest.New(t)
	fl := flows.Default()
	h := newHarnessOn(t, env, nil)
	h.svc.SetFlow(fl)
	var s flows.Session
	var hd *flows.Handoff
	for _, text := range []string{"人と話したい"} {
		var acts []flows.Action
		s, acts = fl.Step(s, flows.Input{Kind: flows.InputText, Text: text, Now: openHour})
		for _, a := range acts {
			if x, ok := a.(flows.Handoff); ok {
				hd = &x
			}
		}
	}
	if hd == nil {
		t.Fatal("the default flow did not hand off on 人と話したい")
	}
	c := h.open(*hd, "line-ev-1")
	cat, _ := fl.Category(c.Teams[0])
	if c.Home.Channel != h.fake.ChannelID(cat.Channel) {
		t.Errorf("card in %s, want %s", c.Home.Channel, cat.Channel)
	}
	if card := h.card(c.Home); !strings.Contains(card, "人と話したい") || !strings.Contains(card, c.ID) {
		t.Errorf("card:\n%s", card)
	}
}
