package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/config"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff"
	"github.com/tsunagu-city/tsunagu/stats"
)

// serveGetenv reads the configuration; tests replace it.
var serveGetenv = os.Getenv

const serveUsage = `usage: tsunagu serve [--check]

Runs the LINE webhook (POST /webhook/line), the Slack endpoints
(POST /slack/events, POST /slack/interactions), the workers, GET /healthz,
GET /readyz and GET /metrics. SIGHUP reloads the flow (a broken one is
refused and the running one kept); SIGINT and SIGTERM stop gracefully.
Configuration comes from the environment; see docs/config.md,
docs/operations.md and docs/slack.md. Required: LINE_CHANNEL_SECRET,
LINE_CHANNEL_ACCESS_TOKEN, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or
SLACK_APP_TOKEN for Socket Mode).

  --check   lint the flow (TSUNAGU_FLOW, else the embedded one) and run its
            conversation tests, then exit: 0 when all pass (for CI, before
            a deploy)
`

// runServe runs the service until ctx ends (SIGINT/SIGTERM in main): it then
// stops taking requests, lets the workers finish the event at hand and exits 0.
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	check := false
	for _, a := range args {
		switch a {
		case "-h", "--help":
			fmt.Fprint(stdout, serveUsage)
			return 0
		case "--check", "-check":
			check = true
		default:
			fmt.Fprintf(stderr, "tsunagu serve: unexpected argument %q\n\n%s", a, serveUsage)
			return 2
		}
	}
	if check {
		return checkServeFlow(ctx, strings.TrimSpace(serveGetenv("TSUNAGU_FLOW")), stdout, stderr)
	}
	// SIGHUP reloads the flow once serving; caught from here on, so that
	// one sent while starting does not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, err := config.FromEnv(serveGetenv)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: configuration:\n%v\n", err)
		return 1
	}
	tuneGC()
	log := newLogger(cfg.LogFormat, stderr)
	// The Slack side logs through the default logger, go-redis through
	// its own: one format for all.
	slog.SetDefault(log)
	redis.SetLogger(newRedisLog(log, 10*time.Second))
	flow, err := loadServeFlow(cfg.FlowPath)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: flow:\n%v\n", err)
		return 1
	}
	ropt, err := cfg.RedisOptions()
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: %v\n", err)
		return 1
	}
	if ropt.PoolSize == 0 {
		// Every shard's worker holds a connection while it waits for
		// entries (a blocking read), and needs another for its batch; the
		// webhook, the Slack side and the answers' staff work share the rest.
		ropt.PoolSize = 2*cfg.Shards + 64
	}
	rdb := openRedis(ropt)
	defer rdb.Close()
	m := newMetrics()
	rdb.AddHook(redisHook{m})

	svc, err := newService(cfg, flow, rdb, log, m, ropt.ReadTimeout)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: listen on ADDR=%s: %v\n", cfg.Addr, err)
		return 1
	}
	if cfg.PprofAddr != "" {
		// Only on the address asked for, never on the public one.
		pl, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			fmt.Fprintf(stderr, "tsunagu serve: listen on TSUNAGU_PPROF_ADDR=%s: %v\n", cfg.PprofAddr, err)
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() { _ = http.Serve(pl, mux) }()
		defer pl.Close()
	}
	if err := svc.run(ctx, ln, hup); err != nil {
		log.Error("serve stopped", "err", err)
		return 1
	}
	return 0
}

// tuneGC collects garbage less often than Go's default unless GOGC or
// GOMEMLIMIT say otherwise: serve's live heap is a few tens of megabytes
// and, saturated, the profile showed about a tenth of its CPU in the
// collector. A heap target of five times the live heap, bounded softly at
// 512 MiB, trades a little memory (well within the edge's bounds) for it.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(512 << 20)
	}
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func loadServeFlow(path string) (*flows.Flow, error) {
	if path == "" {
		return flows.LoadDefault()
	}
	return flows.LoadPath(path)
}

// flowSource says where the flow comes from, for the start-up line.
func flowSource(path string) string {
	if path == "" {
		return "embedded"
	}
	return path
}

// flowHash names a flow's content in the log and in tsunagu_flow_info: the
// first 12 hex digits of a SHA-256 of its decoded form, so that the same
// flow has the same hash wherever it was loaded from.
func flowHash(f *flows.Flow) string {
	b, err := json.Marshal(f)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// checkServeFlow is serve --check: the flow serve would run is linted
// and its conversation tests run, as `flows lint` and `flows test` do.
func checkServeFlow(ctx context.Context, path string, stdout, stderr io.Writer) int {
	f, err := loadServeFlow(path)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve --check: flow:\n%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ok: flow %q (%s) — %d states, %d categories, %d crisis rules\n",
		f.Name, flowHash(f), len(f.States), len(f.Categories), len(f.Crisis.Rules))
	_, names, err := testFiles(path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve --check: conversation tests: %v\n", err)
		return 1
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "no conversation tests beside the flow (a tests/ folder); only the lint ran")
		return 0
	}
	var args []string
	if path != "" {
		args = []string{"--flow", path}
	}
	return runFlowTests(ctx, args, nil, stdout, stderr)
}

// runningFlow is the flow in service and its hash.
type runningFlow struct {
	flow *flows.Flow
	hash string
}

// service is the assembled front door: router, LINE workers and the Slack side.
type service struct {
	cfg     config.Config
	log     *slog.Logger
	handler http.Handler
	intake  *bot.Intake
	workers *bot.Workers
	slack   *handoff.Service
	metrics *metrics
	flow    atomic.Pointer[runningFlow]
	// stopping is set once shutdown began: /readyz says so at once, so
	// that a load balancer sends no more residents here.
	stopping atomic.Bool
	// stats writes the monthly counters in the background.
	stats *stats.Recorder
}

// flowLocation is the flow's time zone, which decides the month an event is
// counted in; nil (Asia/Tokyo) when the flow names none or an unknown one.
func flowLocation(f *flows.Flow) *time.Location {
	if loc, err := time.LoadLocation(f.Hours.Timezone); err == nil && f.Hours.Timezone != "" {
		return loc
	}
	return nil
}

// server is the HTTP server with the edge's limits: a slow or stalled
// client is cut off after ReadTimeout, an idle keep-alive connection after
// IdleTimeout, and headers are bounded.
func server(cfg config.Config, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(5*time.Second, cfg.HTTPReadTimeout),
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.HTTPMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// closer tells a resident's conversation that staff closed the case, through
// the same intake as their own messages, so it is handled in their order.
type closer struct{ intake *bot.Intake }

func (c closer) CloseConversation(ctx context.Context, userID, _, key string) error {
	return c.intake.Enqueue(ctx, userID, key, flows.EventCaseClosed)
}

// newService wires the webhook, intake, store, sender, workers and the Slack
// handoff on rdb.
func newService(cfg config.Config, flow *flows.Flow, rdb redis.UniversalClient, log *slog.Logger, m *metrics, readTimeout time.Duration) (*service, error) {
	// A worker's blocking read shares a pipeline with the last batch's acks,
	// which go-redis bounds by the client's read timeout (3s by default):
	// the wait stays well inside it.
	block := 2 * time.Second
	if readTimeout == 0 {
		readTimeout = 3 * time.Second
	}
	if readTimeout > 0 {
		block = min(block, readTimeout/2)
	}
	intake := bot.NewIntake(rdb, bot.IntakeOptions{Prefix: cfg.KeyPrefix, Shards: cfg.Shards, LeaseTTL: cfg.ClaimAfter, Retention: cfg.Retention,
		WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: cfg.RedisWaitTimeout, Log: log})
	store := bot.NewRedisStore(rdb, bot.RedisStoreOptions{
		Prefix: cfg.KeyPrefix, Secret: []byte(cfg.LineChannelSecret), Retention: cfg.Retention,
	})
	line, err := bot.NewLINE(bot.LINEOptions{Token: cfg.LineChannelAccessToken, BaseURL: cfg.LineAPIBaseURL, Senders: cfg.LineSenders,
		Log: log, Observer: m})
	if err != nil {
		return nil, fmt.Errorf("LINE client: %w", err)
	}
	counts := stats.NewRecorder(rdb, stats.Options{Prefix: cfg.KeyPrefix, Location: flowLocation(flow), Log: log})
	staff, err := handoff.New(handoff.Config{
		BotToken: cfg.SlackBotToken, SigningSecret: cfg.SlackSigningSecret,
		APIBaseURL: cfg.SlackAPIBaseURL, AppToken: cfg.SlackAppToken,
		UrgentMention: cfg.SlackUrgentMention, LeadMention: cfg.SlackLeadMention,
		EscalateAfter: cfg.SlackEscalateAfter, EscalateUrgentAfter: cfg.SlackEscalateUrgentAfter,
		ShowStaffNames: cfg.SlackShowStaffNames, KeyPrefix: cfg.KeyPrefix,
		MessageTTL: cfg.Retention, AuthCheckInterval: cfg.SlackAuthCheckInterval,
		Retention: cfg.Retention, OpenCaseMax: cfg.OpenCaseMax, KeepSlackRecord: !cfg.EraseSlack,
	}, handoff.Deps{Redis: rdb, Flow: flow, Pusher: line, Conversations: closer{intake}, Log: log, Stats: counts, Observer: m})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	workers := bot.NewWorkers(bot.WorkerOptions{
		Intake: intake, Store: store, Flow: flow, LINE: line, Handoffs: staff, Log: log,
		Block: block, Observer: m,
		Limit:           bot.RateLimit{N: cfg.ResidentLimit, Per: cfg.ResidentPer},
		StaffRecordKept: !cfg.EraseSlack,
	})
	bodies := newBodyPool(cfg.BodyBudget)
	m.bodies(bodies)
	m.statistics(counts)
	m.reg.MustRegister(newStateCollector(intake, staff, log),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tsunagu_slack_ready",
			Help: "1 when Slack accepts the token (auth.test passed, no call refused for it since), 0 when not."},
			func() float64 {
				if staff.Ready() != nil {
					return 0
				}
				return 1
			}))
	hook := &bot.Webhook{Secret: cfg.LineChannelSecret, Intake: intake, Log: log, Observer: m}
	s := &service{cfg: cfg, log: log, intake: intake, workers: workers, slack: staff, metrics: m, stats: counts}
	s.setFlow(flow)
	r := newRouter(m.instrument("line", signedOnly(bodies, hook, "X-Line-Signature")), intake.Ping)
	r.Method(http.MethodPost, "/slack/events", m.instrument("slack_events",
		signedOnly(bodies, staff.EventsHandler(), "X-Slack-Signature", "X-Slack-Request-Timestamp")))
	r.Method(http.MethodPost, "/slack/interactions", m.instrument("slack_interactions",
		signedOnly(bodies, staff.InteractionsHandler(), "X-Slack-Signature", "X-Slack-Request-Timestamp")))
	r.Method(http.MethodGet, "/metrics", m.handler(log))
	r.Get("/readyz", s.readyz)
	s.handler = r
	return s, nil
}

// setFlow puts f in service: the workers step the next events with it and
// the Slack side uses its categories, channels and texts.
func (s *service) setFlow(f *flows.Flow) *runningFlow {
	rf := &runningFlow{flow: f, hash: flowHash(f)}
	s.workers.SetFlow(f)
	s.slack.SetFlow(f)
	if old := s.flow.Swap(rf); old != nil {
		s.metrics.flowInfo.DeleteLabelValues(old.flow.Name, old.hash)
	}
	s.metrics.flowInfo.WithLabelValues(f.Name, rf.hash).Set(1)
	return rf
}

// reload loads the flow again (SIGHUP). A flow with problems is refused,
// each problem logged as file:line:col, and the running one is kept.
// Sessions in a state the new flow lacks go to a person (flows.Step).
func (s *service) reload() {
	old := s.flow.Load()
	f, err := loadServeFlow(s.cfg.FlowPath)
	if err != nil {
		s.metrics.reloads.WithLabelValues("refused").Inc()
		var ps flows.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				s.log.Error("flow problem", "problem", p.String())
			}
			s.log.Error("flow reload refused; the running flow is kept", "flow", old.flow.Name, "hash", old.hash, "problems", len(ps))
			return
		}
		s.log.Error("flow reload refused; the running flow is kept", "flow", old.flow.Name, "hash", old.hash, "err", err)
		return
	}
	rf := s.setFlow(f)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.log.Info("flow reloaded", "flow", f.Name, "hash", rf.hash, "was", old.hash, "states", len(f.States))
}

// readyz answers 200 only when this process can do its work: Redis
// answers, Slack accepted the token, a flow is loaded and it is not
// shutting down. Otherwise 503, with what is wrong, one line each.
func (s *service) readyz(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if s.stopping.Load() {
		problems = append(problems, "shutting down")
	}
	if s.flow.Load() == nil {
		problems = append(problems, "no flow loaded")
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.intake.Ping(ctx); err != nil {
		problems = append(problems, "redis: "+err.Error())
	}
	if err := s.slack.Ready(); err != nil {
		problems = append(problems, "slack: "+err.Error())
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Join(problems, "\n")+"\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// newRouter is the HTTP surface shared by every deployment: the LINE webhook
// and the health check.
func newRouter(webhook http.Handler, ping func(context.Context) error) chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Method(http.MethodPost, "/webhook/line", webhook)
	r.Get("/healthz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if err := ping(ctx); err != nil {
			http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return r
}

// run serves on ln and works the intake until ctx ends, then shuts down:
// first the HTTP server (no new events), then the workers (each finishes
// the event at hand). Each value on reload loads the flow again.
func (s *service) run(ctx context.Context, ln net.Listener, reload <-chan os.Signal) error {
	srv := server(s.cfg, s.handler, s.log)
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = s.workers.Run(wctx)
	}()
	// The counters are written until the workers have stopped, so the
	// last cases closed are counted too.
	statsCtx, stopStats := context.WithCancel(context.WithoutCancel(ctx))
	statsDone := make(chan struct{})
	go func() {
		defer close(statsDone)
		s.stats.Run(statsCtx)
	}()
	defer func() {
		stopStats()
		<-statsDone
	}()
	go func() {
		defer wg.Done()
		if err := s.slack.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("slack side stopped", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	rf := s.flow.Load()
	slackMode := "events"
	if s.cfg.SlackAppToken != "" {
		slackMode = "socket"
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "version", versionString(),
		"flow", rf.flow.Name, "flow_hash", rf.hash, "flow_from", flowSource(s.cfg.FlowPath),
		"slack_mode", slackMode, "shards", s.cfg.Shards, "workers", s.cfg.Shards, "line_senders", s.cfg.LineSenders)

	var err error
wait:
	for {
		select {
		case <-reload:
			s.reload()
		case <-ctx.Done():
			s.log.Info("shutting down")
			break wait
		case err = <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			break wait
		}
	}
	s.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("http shutdown: %w", serr)
	}
	stopWorkers()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		s.log.Warn("workers did not stop in time; their events will be claimed again")
	}
	s.log.Info("stopped")
	return err
}
