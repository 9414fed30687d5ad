package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// step is one thing a resident does: a text, or a button press (data), and
// what the flow will do with it, found by running the same flow here.
type step struct {
	text, data string
	answered   bool // the flow answers it (LINE gets a reply)
	handoff    bool // the flow hands the case to staff
}

// script plays a conversation through the flow from a new session and
// records, for each step, whether it is answered and whether it hands off.
// Lines starting with "pb:" are button presses.
func script(f *flows.Flow, lines ...string) []step {
	var s flows.Session
	out := make([]step, len(lines))
	for i, l := range lines {
		in := flows.Input{Kind: flows.InputText, Text: l, Now: time.Now()}
		st := step{text: l}
		if data, ok := strings.CutPrefix(l, "pb:"); ok {
			in = flows.Input{Kind: flows.InputChoice, Text: data, Now: time.Now()}
			st = step{data: data}
		}
		var acts []flows.Action
		s, acts = f.Step(s, in)
		for _, a := range acts {
			switch a.(type) {
			case flows.Reply:
				st.answered = true
			case flows.Handoff:
				st.handoff = true
				s.Case = "K"
			}
		}
		out[i] = st
	}
	return out
}

// conversations are the residents the benchmark plays, by kind.
type conversations struct {
	// browse are conversations the flow answers at every step, without a
	// handoff: greetings, menu choices, free text, a change of language.
	browse [][]step
	// handoff ends with a case for staff.
	handoff [][]step
}

func newConversations(f *flows.Flow) conversations {
	c := conversations{
		browse: [][]step{
			script(f, "こんにちは", "pb:welcome:3", "家賃が払えなくて困っています", "pb:ask_who:0"),
			script(f, "すみません", "相談してもいいですか", "母の介護のことで", "pb:confirm:1"),
			script(f, "こんにちは", "pb:welcome:12", "pb:language:1", "hello", "I lost my job"),
			script(f, "ゴミの日はいつですか", "pb:welcome:10", "よろしく"),
			script(f, "はじめまして", "pb:welcome:6", "夜眠れないことが続いています", "pb:ask_who:0"),
		},
		handoff: [][]step{
			script(f, "こんにちは", "pb:welcome:3", "家賃が払えなくて困っています", "pb:ask_who:0", "pb:ask_urgency:2"),
		},
	}
	for _, sc := range append(slices.Clone(c.browse), c.handoff...) {
		for i, st := range sc {
			if !st.answered || (st.handoff && i != len(sc)-1) {
				panic(fmt.Sprintf("benchmark conversation %v: step %d is not answered, or hands off early; the flow changed", sc, i))
			}
		}
	}
	return c
}

// phase gathers what one part of the benchmark measured.
type phase struct {
	name  string
	start time.Time

	sent, acked, failed, expected, answered atomic.Int64

	mu  sync.Mutex
	ack []time.Duration // webhook answered 200, from when the event was due
	e2e []time.Duration // the answer reached LINE, from when the event was due
	// perSecond counts answers by the second since start.
	perSecond [1200]atomic.Int64
}

func newPhase(name string) *phase { return &phase{name: name, start: time.Now()} }

func (p *phase) answer(at, due time.Time) {
	p.answered.Add(1)
	p.mu.Lock()
	p.e2e = append(p.e2e, at.Sub(due))
	p.mu.Unlock()
	if s := int(at.Sub(p.start) / time.Second); s >= 0 && s < len(p.perSecond) {
		p.perSecond[s].Add(1)
	}
}

// rate is the answers per second over whole seconds [from, to).
func (p *phase) rate(from, to int) float64 {
	n := int64(0)
	for s := from; s < to; s++ {
		n += p.perSecond[s].Load()
	}
	return float64(n) / float64(to-from)
}

// driver sends residents' events to the webhook as LINE does, signed, and
// matches the answers the fake LINE receives to them.
type driver struct {
	url    string
	secret []byte
	client *http.Client
	flow   *flows.Flow

	seq     atomic.Int64
	users   atomic.Int64
	pending sync.Map // reply token -> *sent
	// extra counts answers to tokens no longer pending: repeats.
	extra atomic.Int64
}

type sent struct {
	due time.Time
	ph  *phase
}

func newDriver(url string, secret []byte, conns int) *driver {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableCompression = conns, conns, true
	return &driver{url: url, secret: secret, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// onReply is the fake LINE's report of an answer.
func (d *driver) onReply(token string, at time.Time) {
	v, ok := d.pending.LoadAndDelete(token)
	if !ok {
		d.extra.Add(1)
		return
	}
	s := v.(*sent)
	s.ph.answer(at, s.due)
}

// resident is one person writing to the city.
type resident struct {
	id    string
	steps []step
	next  int
}

func (d *driver) newResident(steps []step) *resident {
	n := d.users.Add(1)
	return &resident{id: fmt.Sprintf("U%032x", 0xbe0c0000000+n), steps: steps}
}

// send delivers the resident's next step, due at due, and records it in
// ph. It reports the webhook's status (0 when the request failed).
func (d *driver) send(ctx context.Context, ph *phase, r *resident, due time.Time, token string) int {
	st := r.steps[r.next]
	r.next++
	n := d.seq.Add(1)
	id := fmt.Sprintf("01JBENCH%018d", n)
	if token == "" {
		token = fmt.Sprintf("rt-%d", n)
	}
	body := eventBody(id, r.id, token, st, time.Now())
	if st.answered {
		d.pending.Store(token, &sent{due: due, ph: ph})
	}
	ph.sent.Add(1)
	code := d.post(ctx, body)
	ph.mu.Lock()
	ph.ack = append(ph.ack, time.Since(due))
	ph.mu.Unlock()
	if code != http.StatusOK {
		ph.failed.Add(1)
		d.pending.Delete(token)
		return code
	}
	ph.acked.Add(1)
	if st.answered {
		ph.expected.Add(1)
	}
	return code
}

func (d *driver) post(ctx context.Context, body []byte) int {
	m := hmac.New(sha256.New, d.secret)
	m.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+"/webhook/line", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	res, err := d.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// eventBody is a one-event webhook body as LINE sends it.
func eventBody(id, user, token string, st step, at time.Time) []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	head := `{"destination":"U00000000000000000000000000000b07","events":[{"mode":"active","timestamp":` +
		fmt.Sprint(at.UnixMilli()) + `,"webhookEventId":"` + id + `","deliveryContext":{"isRedelivery":false},` +
		`"source":{"type":"user","userId":"` + user + `"},"replyToken":"` + token + `",`
	if st.data != "" {
		return []byte(head + `"type":"postback","postback":{"data":` + q(st.data) + `}}]}`)
	}
	return []byte(head + `"type":"message","message":{"id":"m` + id + `","type":"text","text":` + q(st.text) + `,"quoteToken":"q"}}]}`)
}

// saturate sends as fast as conc senders can, each playing one resident
// after another (a resident's steps in order, each after the previous was
// acknowledged), until the duration is over.
func (d *driver) saturate(ctx context.Context, ph *phase, conv conversations, conc int, dur time.Duration) {
	end := time.Now().Add(dur)
	var n atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				i := n.Add(1)
				steps := conv.browse[int(i)%len(conv.browse)]
				if i%200 == 0 {
					steps = conv.handoff[0] // one resident in two hundred reaches staff
				}
				r := d.newResident(steps)
				for r.next < len(r.steps) && time.Now().Before(end) {
					d.send(ctx, ph, r, time.Now(), "")
				}
			}
		})
	}
	wg.Wait()
}

// paced sends rate events per second for dur, open loop: each event is
// due at its time whether or not the earlier ones were answered, and its
// latencies count from then. Residents take turns (each writes about every
// two seconds), as many people writing at once would.
func (d *driver) paced(ctx context.Context, ph *phase, conv conversations, rate int, dur time.Duration) {
	type job struct {
		r   *resident
		due time.Time
	}
	jobs := make(chan job, 4096)
	var wg sync.WaitGroup
	for range 128 {
		wg.Go(func() {
			for j := range jobs {
				d.send(ctx, ph, j.r, j.due, "")
			}
		})
	}
	active := make([]*resident, 2*rate)
	k := 0
	fresh := func(i int) *resident {
		k++
		steps := conv.browse[k%len(conv.browse)]
		if k%200 == 0 {
			steps = conv.handoff[0]
		}
		return d.newResident(steps)
	}
	for i := range active {
		active[i] = fresh(i)
	}
	start := time.Now()
	total := int(dur.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		slot := i % len(active)
		if active[slot].next == len(active[slot].steps) {
			active[slot] = fresh(slot)
		}
		jobs <- job{r: active[slot], due: due}
	}
	close(jobs)
	wg.Wait()
}

// drain waits until every expected answer of ph came, or the timeout.
func (d *driver) drain(ph *phase, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for ph.answered.Load() < ph.expected.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}
