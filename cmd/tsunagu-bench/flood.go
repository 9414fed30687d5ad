package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// flood is the scenario: twelve residents with open cases write
// twenty-five messages each into their case threads, in four channels
// (Slack takes about one post per second per channel), while eight other
// residents write 「もう死にたい」.
type flood struct {
	notes, numbers atomic.Int64 // gentle notes to the flooders; crisis answers with the numbers

	mu          sync.Mutex
	staffPushed map[string]int // resident -> staff replies pushed to them

	crisis     *phase
	flooders   int
	messages   int
	delivered  int // flood messages found in their threads
	posts      int // thread posts that carried them
	staffSent  int
	staffGot   int
	cardsFound int
	cardLat    []time.Duration // crisis sent -> urgent card posted
	waited     time.Duration   // until every flood message was in Slack
}

const (
	flooders      = 12
	floodMessages = 25
	crises        = 8
)

func (f *flood) pushed(to string, body []byte) {
	if !strings.Contains(string(body), "お話を聞かせてください") {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.staffPushed == nil {
		f.staffPushed = map[string]int{}
	}
	f.staffPushed[to]++
}

// openers bring a resident to an open case in one of four teams' channels
// (not the one the throughput runs' few handoffs queue up in); %d marks the
// resident's words so that staff can find their card.
var openers = [][]string{
	{"人と話したい（№%d）"},
	{"母の介護のことで（№%d）", "pb:confirm:2"},
	{"こんばんは", "pb:welcome:7", "ずっと家から出られていません（№%d）", "pb:ask_who:0", "pb:ask_urgency:2"},
	{"はじめまして", "pb:welcome:6", "夜眠れないことが続いています（№%d）", "pb:ask_who:0", "pb:ask_urgency:2"},
}

func (f *flood) run(ctx context.Context, d *driver, st *staff, rs *redisServer, flow *flows.Flow) error {
	f.flooders, f.messages = flooders, flooders*floodMessages
	open := newPhase("flood: opening cases")
	rest := newPhase("flood: messages")
	var residents []*resident
	for i := range flooders {
		var lines []string
		for _, l := range openers[i%len(openers)] {
			if strings.Contains(l, "%d") {
				l = fmt.Sprintf(l, i)
			}
			lines = append(lines, l)
		}
		opened := len(lines)
		for m := range floodMessages {
			lines = append(lines, fmt.Sprintf("その後のことです（№%d の %d 通目）", i, m))
		}
		steps := script(flow, lines...)
		if !steps[opened-1].handoff {
			return fmt.Errorf("flood opener %q does not hand off: the flow changed", lines[:opened])
		}
		residents = append(residents, d.newResident(steps))
	}
	var wg sync.WaitGroup
	for _, r := range residents {
		wg.Go(func() {
			for r.next < len(r.steps) && !strings.HasPrefix(r.steps[r.next].text, "その後") {
				d.send(ctx, open, r, time.Now(), "")
			}
		})
	}
	wg.Wait()

	// Staff find each card and answer in its thread.
	cards := make([]slackfake.Message, flooders)
	deadline := time.Now().Add(90 * time.Second)
	for i := range flooders {
		for {
			card, ok := st.card(fmt.Sprintf("№%d）", i))
			if ok && rs.rdb.Exists(ctx, "tsunagu:thread:"+card.Channel+":"+card.TS).Val() == 1 {
				cards[i] = card
				if st.reply(ctx, card, fmt.Sprintf("お話を聞かせてください（№%d）", i)) == 200 {
					f.staffSent++
				}
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no linked card for flooding resident %d after 90s", i)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The flood, and the crises during it.
	f.crisis = newPhase("crisis")
	start := time.Now()
	for i, r := range residents {
		wg.Go(func() {
			for m := 0; r.next < len(r.steps); m++ {
				d.send(ctx, rest, r, time.Now(), fmt.Sprintf("rf-%d-%d", i, m))
			}
		})
	}
	sentAt := make([]time.Time, crises)
	for c := range crises {
		time.Sleep(time.Until(start.Add(time.Duration(c) * 150 * time.Millisecond)))
		steps := script(flow, fmt.Sprintf("もう死にたい（№c%d）", c))
		if !steps[0].handoff {
			return fmt.Errorf("「もう死にたい」 is not a crisis handoff: the flow changed")
		}
		sentAt[c] = time.Now()
		wg.Go(func() { d.send(ctx, f.crisis, d.newResident(steps), sentAt[c], fmt.Sprintf("rc-%d", c)) })
	}
	wg.Wait()
	d.drain(f.crisis, 10*time.Second)

	// Every flood message reaches its thread, merged into fewer posts.
	deadline = time.Now().Add(180 * time.Second)
	for {
		f.delivered, f.posts = 0, 0
		for i := range flooders {
			text, posts := st.thread(cards[i])
			f.posts += posts
			for m := range floodMessages {
				if strings.Contains(text, fmt.Sprintf("№%d の %d 通目", i, m)) {
					f.delivered++
				}
			}
		}
		if f.delivered == f.messages || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	f.waited = time.Since(start)
	// The crisis cards, urgent, in a channel three flooding cases share.
	for c := range crises {
		for _, call := range st.fake.Calls("chat.postMessage") {
			if !call.Limited && call.Form.Get("thread_ts") == "" && strings.Contains(call.Form.Get("blocks"), fmt.Sprintf("№c%d）", c)) {
				f.cardsFound++
				f.cardLat = append(f.cardLat, call.At.Sub(sentAt[c]))
				break
			}
		}
	}
	f.mu.Lock()
	for _, r := range residents {
		f.staffGot += min(f.staffPushed[r.id], 1)
	}
	f.mu.Unlock()
	return nil
}
