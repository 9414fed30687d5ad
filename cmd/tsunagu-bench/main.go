// Command tsunagu-bench measures `tsunagu serve` on this machine. It starts
// a redis-server of its own, fake LINE and Slack APIs on loopback and the
// serve binary given with -serve, plays residents through realistic
// conversations (greetings, menu choices, free text, handoffs with staff
// replies, crises during a flood of relays) and prints what it measured,
// with redis-benchmark's SET/s from the same run as the baseline. It sends
// traffic only to loopback and stops by itself.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

type options struct {
	serve     string
	out       string
	saturate  time.Duration
	senders   int
	rate      int
	paced     time.Duration
	shards    int
	uploads   int
	skipEdge  bool
	skipFlood bool
	strict    bool
	selfProf  string
}

func main() {
	var o options
	flag.StringVar(&o.serve, "serve", "bin/tsunagu", "the tsunagu binary to run as `serve`")
	flag.StringVar(&o.out, "out", "bench-out", "folder for serve's log, Redis' log and the CPU profile")
	flag.DurationVar(&o.saturate, "saturate", 20*time.Second, "how long to send as fast as possible")
	flag.IntVar(&o.senders, "senders", 96, "concurrent senders while saturating")
	flag.IntVar(&o.rate, "rate", 2000, "events per second of the paced run")
	flag.DurationVar(&o.paced, "paced", 15*time.Second, "how long the paced run lasts")
	flag.IntVar(&o.shards, "shards", 0, "TSUNAGU_SHARDS of serve (its default when 0)")
	flag.IntVar(&o.uploads, "uploads", 1000, "stalled 1 MiB uploads in the edge test")
	flag.BoolVar(&o.skipEdge, "skip-edge", false, "skip the edge test")
	flag.BoolVar(&o.skipFlood, "skip-flood", false, "skip the flood test")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a figure misses the issue's bar")
	flag.StringVar(&o.selfProf, "self-profile", "", "write the benchmark's own CPU profile to this file")
	flag.Parse()
	os.Exit(run(o))
}

const (
	lineSecret  = "bench-line-secret"
	lineToken   = "bench-line-token"
	slackToken  = "xoxb-bench"
	slackSecret = "bench-slack-secret"
)

func run(o options) int {
	// The senders and fakes allocate per request like any HTTP server; they
	// collect less often so as to leave the CPU to what is measured.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "tsunagu-bench:", err); return 1 }
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fail(err)
	}
	out, _ := filepath.Abs(o.out)
	rep := &report{started: time.Now()}
	if o.selfProf != "" {
		f, err := os.Create(o.selfProf)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}

	rs, err := startRedis(out)
	if err != nil {
		return fail(err)
	}
	defer rs.stop()
	if rep.setBefore, err = rs.setPerSecond(ctx); err != nil {
		return fail(err)
	}

	line, err := startLINE(lineToken)
	if err != nil {
		return fail(err)
	}
	defer line.close()
	slk := slackfake.Start(slackToken)
	defer slk.Close()
	// Slack's one post per second per channel, with the little slack for
	// jitter that Slack's own limiter has.
	slk.PacePosts(900 * time.Millisecond)

	sv, err := startServe(ctx, o, out, rs.url(), line.url, slk.APIURL())
	if err != nil {
		return fail(err)
	}
	defer sv.stop()

	flow := flows.Default()
	conv := newConversations(flow)
	drv := newDriver(sv.url, []byte(lineSecret), 2*o.senders)
	fl := &flood{}
	line.onReply = func(tok string, at time.Time, body []byte) {
		if strings.HasPrefix(tok, "rf-") {
			fl.notes.Add(1) // the gentle note to a fast writer
			return
		}
		if strings.HasPrefix(tok, "rc-") && strings.Contains(string(body), "110") {
			fl.numbers.Add(1)
		}
		drv.onReply(tok, at)
	}
	line.onPush = func(to string, at time.Time, body []byte) { fl.pushed(to, body) }
	rep.memBase = rs.info(ctx, "memory")["used_memory"]

	fmt.Println("warming up…")
	warm := newPhase("warm")
	drv.saturate(ctx, warm, conv, 16, 3*time.Second)
	drv.drain(warm, 10*time.Second)

	fmt.Printf("saturating for %v with %d senders…\n", o.saturate, o.senders)
	rep.saturation = measure(ctx, rs, sv, func() *phase {
		ph := newPhase("saturation")
		prof := sv.profile(ctx, filepath.Join(out, "cpu.pprof"), o.saturate/2)
		drv.saturate(ctx, ph, conv, o.senders, o.saturate)
		<-prof
		drv.drain(ph, 30*time.Second)
		return ph
	})
	fmt.Printf("pacing %d events/s for %v…\n", o.rate, o.paced)
	rep.paced = measure(ctx, rs, sv, func() *phase {
		ph := newPhase("paced")
		prof := sv.profile(ctx, filepath.Join(out, "cpu-paced.pprof"), o.paced/2)
		drv.paced(ctx, ph, conv, o.rate, o.paced)
		<-prof
		drv.drain(ph, 30*time.Second)
		return ph
	})
	if !o.skipFlood {
		fmt.Println("flooding case threads while residents in crisis write…")
		st := &staff{fake: slk, secret: slackSecret, url: sv.url, client: &http.Client{Timeout: 10 * time.Second}}
		if err := fl.run(ctx, drv, st, rs, flow); err != nil {
			return fail(err)
		}
		rep.flood = fl
	}

	fmt.Println("measuring the idle server…")
	time.Sleep(3 * time.Second)
	rep.idle = idle(ctx, rs, sv, 10*time.Second)
	rep.residents = drv.users.Load()
	rep.memory = memory(ctx, rs)
	rep.memAfter = rs.info(ctx, "memory")["used_memory"]
	rep.rssIdle, _ = rss(sv.cmd.Process.Pid)

	if !o.skipEdge {
		fmt.Printf("holding %d stalled uploads, idle and slow connections…\n", o.uploads)
		before, _ := rss(sv.cmd.Process.Pid)
		refused, peak, err := stalledUploads(sv.addr, o.uploads, sv.cmd.Process.Pid, 3*time.Second)
		if err != nil {
			return fail(err)
		}
		rep.edge = &edgeResult{uploads: o.uploads, refused: refused, rssBefore: before, rssPeak: peak}
		time.Sleep(3 * time.Second) // past ReadTimeout: the held ones are cut
		if rep.edge.idleClosed, err = idleConnections(sv.addr, 500, 9*time.Second); err != nil {
			return fail(err)
		}
		if rep.edge.slowCut, err = slowBodies(sv.addr, 100, 9*time.Second); err != nil {
			return fail(err)
		}
	}
	if rep.setAfter, err = rs.setPerSecond(ctx); err != nil {
		return fail(err)
	}
	rep.lineRepeats = line.badTokens.Load() + line.repeats.Load()
	rep.extra = drv.extra.Load()
	rep.print(os.Stdout, sv, out)
	if o.strict && !rep.ok() {
		return 1
	}
	return 0
}

// serveProc is the running `tsunagu serve`.
type serveProc struct {
	cmd     *exec.Cmd
	addr    string
	url     string
	pprof   string
	binary  string
	stopped bool
}

func startServe(ctx context.Context, o options, out, redisURL, lineURL, slackURL string) (*serveProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pport, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(out, "serve.log"))
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(o.serve)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"LINE_CHANNEL_SECRET="+lineSecret, "LINE_CHANNEL_ACCESS_TOKEN="+lineToken, "LINE_API_BASE_URL="+lineURL,
		"SLACK_BOT_TOKEN="+slackToken, "SLACK_SIGNING_SECRET="+slackSecret, "SLACK_API_BASE_URL="+slackURL,
		"REDIS_URL="+redisURL, fmt.Sprintf("ADDR=127.0.0.1:%d", port), fmt.Sprintf("TSUNAGU_PPROF_ADDR=127.0.0.1:%d", pport),
		"TSUNAGU_HTTP_READ_TIMEOUT=5s", "TSUNAGU_HTTP_IDLE_TIMEOUT=5s", "LOG_FORMAT=json")
	if o.shards > 0 {
		cmd.Env = append(cmd.Env, "TSUNAGU_SHARDS="+strconv.Itoa(o.shards))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve (make bench builds it): %w", bin, err)
	}
	s := &serveProc{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), pprof: fmt.Sprintf("127.0.0.1:%d", pport), binary: bin}
	s.url = "http://" + s.addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(s.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("serve did not become healthy; see %s", filepath.Join(out, "serve.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *serveProc) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// counter reads one counter of serve's /metrics.
func (s *serveProc) counter(name string) float64 {
	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// cpu is the CPU time serve used so far.
func (s *serveProc) cpu() time.Duration { return procCPU(s.cmd.Process.Pid) }

// procCPU is the CPU time (user and system) a process used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// profile records serve's CPU profile for d, starting after a third of it
// has run, into path; the channel closes when done.
func (s *serveProc) profile(ctx context.Context, path string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(d / 3)
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, max(int(d.Seconds()), 1)))
		if err != nil {
			return
		}
		defer res.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, res.Body)
		// And what was allocated since serve started, mostly by this run.
		res, err = http.Get(fmt.Sprintf("http://%s/debug/pprof/allocs", s.pprof))
		if err != nil {
			return
		}
		defer res.Body.Close()
		if a, err := os.Create(strings.TrimSuffix(path, ".pprof") + "-allocs.pprof"); err == nil {
			_, _ = io.Copy(a, res.Body)
			a.Close()
		}
	}()
	return done
}

// measured is a phase and what Redis and serve did during it.
type measured struct {
	ph                    *phase
	dur                   time.Duration
	roundTrips, commands  float64       // client side, from serve's /metrics
	redisCmds, redisBytes float64       // server side, from INFO
	cpu                   time.Duration // serve's
	redisCPU, benchCPU    time.Duration
	rssPeak               int64
}

func measure(ctx context.Context, rs *redisServer, sv *serveProc, run func() *phase) *measured {
	m := &measured{}
	rt0, c0 := sv.counter("tsunagu_redis_roundtrips_total"), sv.counter("tsunagu_redis_commands_total")
	i0 := rs.info(ctx, "stats")
	cpu0, rcpu0, bcpu0 := sv.cpu(), procCPU(rs.cmd.Process.Pid), procCPU(os.Getpid())
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var p int64
		for {
			if now, _ := rss(sv.cmd.Process.Pid); now > p {
				p = now
			}
			select {
			case <-stop:
				peak <- p
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	m.ph = run()
	m.dur = time.Since(start)
	close(stop)
	m.rssPeak = <-peak
	m.cpu = sv.cpu() - cpu0
	m.redisCPU, m.benchCPU = procCPU(rs.cmd.Process.Pid)-rcpu0, procCPU(os.Getpid())-bcpu0
	i1 := rs.info(ctx, "stats")
	m.roundTrips = sv.counter("tsunagu_redis_roundtrips_total") - rt0
	m.commands = sv.counter("tsunagu_redis_commands_total") - c0
	m.redisCmds = i1["total_commands_processed"] - i0["total_commands_processed"]
	m.redisBytes = i1["total_net_input_bytes"] + i1["total_net_output_bytes"] - i0["total_net_input_bytes"] - i0["total_net_output_bytes"]
	return m
}

type idleResult struct {
	redisCmdsPerSec, roundTripsPerSec float64
}

func idle(ctx context.Context, rs *redisServer, sv *serveProc, d time.Duration) idleResult {
	rt0 := sv.counter("tsunagu_redis_roundtrips_total")
	c0 := rs.info(ctx, "stats")["total_commands_processed"]
	time.Sleep(d)
	c1 := rs.info(ctx, "stats")["total_commands_processed"]
	rt1 := sv.counter("tsunagu_redis_roundtrips_total")
	// The second INFO is counted by Redis; it is the benchmark's, not serve's.
	return idleResult{redisCmdsPerSec: (c1 - c0 - 1) / d.Seconds(), roundTripsPerSec: (rt1 - rt0) / d.Seconds()}
}

// keyClass is what kind of key a Redis key is, for the memory breakdown.
func keyClass(k string) string {
	switch {
	case strings.HasSuffix(k, ":session"):
		return "resident records"
	case strings.Contains(k, "{in:"):
		return "intake (streams, leases, dedupe)"
	case strings.Contains(k, "{handoff}:seen:"):
		return "staff queue dedupe marks (6h)"
	case strings.Contains(k, "{handoff}"):
		return "staff queue and schedule"
	case strings.HasPrefix(k, "tsunagu:case:"), strings.HasPrefix(k, "tsunagu:thread:"):
		return "cases, their links and threads"
	}
	return "other"
}

type memClass struct {
	keys  int
	bytes int64
}

func memory(ctx context.Context, rs *redisServer) map[string]*memClass {
	out := map[string]*memClass{}
	iter := rs.rdb.Scan(ctx, 0, "tsunagu:*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	for chunk := range slices.Chunk(keys, 500) {
		pipe := rs.rdb.Pipeline()
		cmds := make([]interface{ Val() int64 }, len(chunk))
		for i, k := range chunk {
			cmds[i] = pipe.MemoryUsage(ctx, k)
		}
		_, _ = pipe.Exec(ctx)
		for i, k := range chunk {
			c := out[keyClass(k)]
			if c == nil {
				c = &memClass{}
				out[keyClass(k)] = c
			}
			c.keys++
			c.bytes += cmds[i].Val()
		}
	}
	return out
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
