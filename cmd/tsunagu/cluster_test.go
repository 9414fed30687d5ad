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
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

var (
	clusterRun        = flag.Bool("cluster", false, "run TestCluster: a 3-master Redis Cluster on loopback (make test-cluster)")
	clusterEvents     = flag.Int("cluster.events", 2000, "events of TestCluster")
	clusterHandoffs   = flag.Int("cluster.handoffs", 8, "residents of TestCluster who ask for a person (a case card each)")
	clusterSenders    = flag.Int("cluster.senders", 8, "concurrent webhook deliveries in TestCluster")
	clusterNoFailure  = flag.Bool("cluster.nofailover", false, "TestCluster without failovers")
	clusterClaimAfter = flag.String("cluster.claimafter", "10s", "TSUNAGU_CLAIM_AFTER of TestCluster and TestSentinel: longer than a failover (30s in production), or leases lapse while no master takes writes and batches are redone")
)

// TestCluster runs two `tsunagu serve` replicas on a Redis Cluster of three
// masters, each with a replica, under a load of residents' conversations
// delivered to either replica, as a load balancer would. A third of the
// way in, one master hands over to its replica by agreement (CLUSTER
// FAILOVER); two thirds in, another master is killed with SIGKILL and its
// replica takes over once the cluster notices (cluster-node-timeout 1s).
// Every event must be answered, and exactly once but for answers given
// within crashWindow of the SIGKILL (see replicatedLoad); and every resident
// who asked for a person must have exactly one case card in Slack.
func TestCluster(t *testing.T) {
	if !*clusterRun {
		t.Skip("needs -cluster: make test-cluster runs it")
	}
	start := time.Now()
	cluster := redistest.StartCluster(t, 3, 1)
	t.Logf("cluster of 6 nodes formed in %v", time.Since(start).Round(time.Millisecond))
	replicatedLoad(t, "REDIS_CLUSTER_ADDRS="+strings.Join(cluster.Addrs(), ","), func(ctx context.Context, waitAcked func(frac int) int64) []failover {
		if *clusterNoFailure {
			return nil
		}
		masters, err := cluster.Masters(ctx)
		if err != nil || len(masters) != 3 {
			t.Fatalf("masters %v: %v", masters, err)
		}
		f1 := failover{what: "CLUSTER FAILOVER (by agreement)", from: masters[0], atAcked: waitAcked(1), at: time.Now()}
		f1.to, f1.err = cluster.Failover(ctx, masters[0])
		f1.took = time.Since(f1.at)
		f2 := failover{what: "SIGKILL of a master (automatic failover)", from: masters[1], atAcked: waitAcked(2), at: time.Now(), crash: true}
		f2.to, f2.err = cluster.KillMaster(ctx, masters[1])
		f2.took = time.Since(f2.at)
		return []failover{f1, f2}
	})
}

// TestSentinel runs two `tsunagu serve` replicas on a master with one
// replica watched by three sentinels (REDIS_URL=redis-sentinel://…), under
// the same load as TestCluster. Two thirds of the way in, the master is
// killed with SIGKILL; the sentinels agree it is down after a second and
// promote the replica, and the clients follow. The same counts as
// TestCluster's must hold.
func TestSentinel(t *testing.T) {
	if !*clusterRun {
		t.Skip("needs -cluster: make test-cluster runs it")
	}
	start := time.Now()
	sen := redistest.StartSentinel(t, "tsunagu-test")
	t.Logf("master, replica and 3 sentinels up in %v", time.Since(start).Round(time.Millisecond))
	replicatedLoad(t, "REDIS_URL="+sen.URL(), func(ctx context.Context, waitAcked func(frac int) int64) []failover {
		if *clusterNoFailure {
			return nil
		}
		master := sen.Master()
		f := failover{what: "SIGKILL of the master (Sentinel failover)", from: master, atAcked: waitAcked(2), at: time.Now(), crash: true}
		f.to, f.err = sen.KillMaster(ctx)
		f.took = time.Since(f.at)
		return []failover{f}
	})
}

// failover is one change of master during a replicated load.
type failover struct {
	what, from, to string
	at             time.Time
	took           time.Duration
	atAcked        int64
	// crash is set when the master was killed rather than handed over.
	crash bool
	err   error
}

// replicatedLoad plays the load of TestCluster and TestSentinel against
// two serve replicas on the Redis named by redisSetting; chaos runs while
// the load does, waiting for a third (1) or two thirds (2) of the events
// to be acknowledged before each failover, and reports them.
func replicatedLoad(t *testing.T, redisSetting string, chaos func(ctx context.Context, waitAcked func(frac int) int64) []failover) {
	t.Helper()
	const secret = "cluster-line-secret"
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	events := killLoad(t, *clusterEvents)
	for i := range *clusterHandoffs {
		id := fmt.Sprintf("01JCLUSTERHANDOFF%09d", i)
		token := fmt.Sprintf("rt-handoff-%d", i)
		body := lineTextFrom(fmt.Sprintf("U%032x", 0xcafe0000+i), id, token, "人と話したいです")
		events = append(events, killEvent{body: body, token: token, retryKey: bot.RetryKey(id, 0)})
	}
	n := len(events)

	line := linefake.New(t)
	line.Light()
	slackAPI := slackfake.New(t, "xoxb-cluster")
	cfg := []string{
		"LINE_CHANNEL_SECRET=" + secret, "LINE_CHANNEL_ACCESS_TOKEN=" + linefake.Token, "LINE_API_BASE_URL=" + line.URL,
		"SLACK_BOT_TOKEN=xoxb-cluster", "SLACK_SIGNING_SECRET=s", "SLACK_API_BASE_URL=" + slackAPI.APIURL(),
		redisSetting, "TSUNAGU_KEY_PREFIX=" + redistest.UniquePrefix(),
		"TSUNAGU_CLAIM_AFTER=" + *clusterClaimAfter, "TSUNAGU_RESIDENT_LIMIT=0", "LOG_FORMAT=text",
		// An event is acknowledged to LINE only once a replica holds it, so
		// a master killed right after answering loses none.
		"REDIS_WAIT_REPLICAS=1",
	}
	replicas := []*serveProcess{startServeProcess(t, cfg, "serve-a.log"), startServeProcess(t, cfg, "serve-b.log")}

	// Senders play LINE: each event until it is answered 200, again after
	// any failure (LINE redelivers), in each resident's order; deliveries
	// alternate between the replicas.
	var acked, refused atomic.Int64
	ackedAt := make([]atomic.Int64, n) // UnixNano of the 200
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(target string, body []byte) bool {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target+"/webhook/line", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		res, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	// A resident's events go one after another; residents go in parallel.
	var residents [][]int
	for i := range events {
		if i < *clusterEvents && i%len(killScripts[0]) != 0 {
			residents[len(residents)-1] = append(residents[len(residents)-1], i)
			continue
		}
		residents = append(residents, []int{i})
	}
	var next, turn atomic.Int64
	var wg sync.WaitGroup
	for range *clusterSenders {
		wg.Go(func() {
			for {
				r := int(next.Add(1)) - 1
				if r >= len(residents) {
					return
				}
				for _, i := range residents[r] {
					for !post(replicas[turn.Add(1)%2].url, events[i].body) {
						if ctx.Err() != nil {
							return
						}
						refused.Add(1)
						time.Sleep(20 * time.Millisecond)
					}
					ackedAt[i].Store(time.Now().UnixNano())
					acked.Add(1)
				}
			}
		})
	}

	// The failovers, while the load runs.
	waitAcked := func(frac int) int64 {
		for acked.Load() < int64(frac*n/3) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		return acked.Load()
	}
	failovers := chaos(ctx, waitAcked)
	var crash, crashEnd time.Time // when a master was killed, and a new one took writes
	for _, f := range failovers {
		if f.crash {
			crash, crashEnd = f.at, f.at.Add(f.took)
		}
	}
	wg.Wait()
	loaded := time.Since(start)

	// answers are the times each event was answered (LINE said 200).
	answers := func() map[int][]time.Time {
		byToken := make(map[string]int, n)
		byKey := make(map[string]int, n)
		for i, e := range events {
			byToken[e.token], byKey[e.retryKey] = i, i
		}
		got := map[int][]time.Time{}
		for _, c := range line.Calls("") {
			if c.Status != http.StatusOK {
				continue
			}
			if i, ok := byToken[c.ReplyToken]; ok && c.Path == linefake.PathReply {
				got[i] = append(got[i], c.At)
			}
			if i, ok := byKey[c.RetryKey]; ok && c.Path == linefake.PathPush {
				got[i] = append(got[i], c.At)
			}
		}
		return got
	}
	cards := func() int {
		k := 0
		for _, m := range slackAPI.Messages() {
			if m.ThreadTS == "" && strings.Contains(m.Blocks, "担当する") {
				k++
			}
		}
		return k
	}
	// Wait for every answer, but not for ones a crash took: once nothing
	// new has come for settle (longer than a shard lease and the retries
	// after it), what is missing stays missing.
	const settle = 10 * time.Second
	got := answers()
	for last, progress := len(got), time.Now(); (len(got) < n || cards() < *clusterHandoffs) && ctx.Err() == nil; {
		if time.Since(progress) > settle {
			break
		}
		time.Sleep(100 * time.Millisecond)
		if got = answers(); len(got) != last {
			last, progress = len(got), time.Now()
		}
	}
	// A card posted twice would show a little after the first.
	time.Sleep(500 * time.Millisecond)
	got = answers()
	// Redis replicates asynchronously: what a master acknowledged in the
	// last moment before it was killed may never have reached its replica.
	// Events are acknowledged to LINE only once a replica holds them
	// (REDIS_WAIT_REPLICAS), so none may be lost, at the kill or anywhere.
	// An answer's record written in that moment can be lost, and the event
	// answered again; while no master takes writes, shard leases lapse and
	// the next worker redoes the batch at hand (the at-least-once a killed
	// serve causes too). Those repeats are counted apart: first answered
	// between crashWindow before the kill and crashWindow after the new
	// master took writes. Anywhere else, one answered twice is a fault of ours.
	within := func(at, from, to time.Time) bool { return !at.Before(from) && !at.After(to) }
	lost, dups, crashLost, crashDups := 0, 0, 0, 0
	for i := range events {
		c := got[i]
		switch {
		case len(c) == 0 && !crash.IsZero() && within(time.Unix(0, ackedAt[i].Load()), crash.Add(-crashWindow), crash.Add(crashWindow)):
			crashLost++
			if crashLost <= 5 {
				t.Logf("event %d, stored %v after the kill, was never answered", i, time.Unix(0, ackedAt[i].Load()).Sub(crash).Round(time.Millisecond))
			}
		case len(c) == 0:
			lost++
		case len(c) > 1 && !crash.IsZero() && within(slices.MinFunc(c, time.Time.Compare), crash.Add(-crashWindow), crashEnd.Add(crashWindow)):
			crashDups += len(c) - 1
		case len(c) > 1:
			dups += len(c) - 1
		}
	}
	t.Logf("%d events (%d residents, %d of whom asked for a person) through 2 serve replicas: "+
		"delivered in %v (%d deliveries refused and made again), all answered after %v; %d lost, %d answered twice; %d case cards; "+
		"at the master's SIGKILL (see crashWindow), %d lost, %d answered twice",
		n, len(residents), *clusterHandoffs, loaded.Round(time.Millisecond), refused.Load(), time.Since(start).Round(time.Millisecond),
		lost, dups, cards(), crashLost, crashDups)
	for _, f := range failovers {
		if f.err != nil {
			t.Errorf("%s of %s after %d events: %v", f.what, f.from, f.atAcked, f.err)
			continue
		}
		t.Logf("%s: %s -> %s after %d of %d events acknowledged; the new master took writes %v later",
			f.what, f.from, f.to, f.atAcked, n, f.took.Round(time.Millisecond))
	}
	if lost > 0 || crashLost > 0 || dups > 0 || cards() != *clusterHandoffs {
		t.Errorf("%d lost (%d at the kill), %d answered twice, %d case cards for %d residents who asked for a person", lost+crashLost, crashLost, dups, cards(), *clusterHandoffs)
		for _, p := range replicas {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s:\n%s", p.log, tail(string(b), 30))
		}
	}
}

// loopRedis is the Redis of TestServeFullLoop: its own, or with -cluster a
// Redis Cluster of three masters, so that a case's card, staff replies, a
// note and closing the case are seen to work there too.
func loopRedis(t *testing.T) map[string]string {
	t.Helper()
	if *clusterRun {
		c := redistest.StartCluster(t, 3, 0)
		return map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs(), ","), "TSUNAGU_KEY_PREFIX": redistest.UniquePrefix()}
	}
	env := redistest.New(t)
	return map[string]string{"REDIS_URL": env.URL, "TSUNAGU_KEY_PREFIX": env.Prefix}
}

// crashWindow is how close to a master's SIGKILL an event's storing or
// answering may be for the crash to be its cause (see replicatedLoad):
// replication on loopback lags by far less, but for a busy machine.
const crashWindow = 500 * time.Millisecond

// lineTextFrom is a one-event webhook body: user writes text.
func lineTextFrom(user, id, replyToken, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"destination": "Ubot",
		"events": []any{map[string]any{
			"type": "message", "mode": "active", "timestamp": time.Now().UnixMilli(),
			"webhookEventId": id, "deliveryContext": map[string]any{"isRedelivery": false},
			"source":     map[string]any{"type": "user", "userId": user},
			"replyToken": replyToken,
			"message":    map[string]any{"id": "m" + id, "type": "text", "text": text, "quoteToken": "q"},
		}},
	})
	return b
}
