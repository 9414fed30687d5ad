package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/config"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff"
	"github.com/tsunagu-city/tsunagu/stats"
)

// serveGetenv reads the configuration; tests replace it.
var serveGetenv = os.Getenv

const serveUsage = `usage: tsunagu serve

Runs the LINE webhook (POST /webhook/line), the Slack endpoints
(POST /slack/events, POST /slack/interactions), the workers and GET /healthz.
Configuration comes from the environment; see docs/config.md and docs/slack.md.
Required: LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN, SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode).
`

// runServe runs the service until ctx ends (SIGINT/SIGTERM in main): it then
// stops taking requests, lets the workers finish the event at hand and exits 0.
func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, serveUsage)
			return 0
		}
		fmt.Fprintf(stderr, "tsunagu serve: unexpected argument %q\n\n%s", args[0], serveUsage)
		return 2
	}
	cfg, err := config.FromEnv(serveGetenv)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu serve: configuration:\n%v\n", err)
		return 1
	}
	tuneGC()
	log := newLogger(cfg.LogFormat, stderr)
	// The Slack side logs through the default logger; one format for all.
	slog.SetDefault(log)
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
	m := &metrics{}
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
	if err := svc.run(ctx, ln); err != nil {
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

// service is the assembled front door: router, LINE workers and the Slack side.
type service struct {
	cfg     config.Config
	log     *slog.Logger
	handler http.Handler
	workers *bot.Workers
	slack   *handoff.Service
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
	intake := bot.NewIntake(rdb, bot.IntakeOptions{Prefix: cfg.KeyPrefix, Shards: cfg.Shards, LeaseTTL: cfg.ClaimAfter})
	store := bot.NewRedisStore(rdb, bot.RedisStoreOptions{
		Prefix: cfg.KeyPrefix, Secret: []byte(cfg.LineChannelSecret), Retention: cfg.Retention,
	})
	line, err := bot.NewLINE(bot.LINEOptions{Token: cfg.LineChannelAccessToken, BaseURL: cfg.LineAPIBaseURL, Senders: cfg.LineSenders})
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
		MessageTTL: cfg.Retention,
	}, handoff.Deps{Redis: rdb, Flow: flow, Pusher: line, Conversations: closer{intake}, Log: log, Stats: counts})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	workers := bot.NewWorkers(bot.WorkerOptions{
		Intake: intake, Store: store, Flow: flow, LINE: line, Handoffs: staff, Log: log,
		Block: block,
		Limit: bot.RateLimit{N: cfg.ResidentLimit, Per: cfg.ResidentPer},
	})
	bodies := newBodyPool(cfg.BodyBudget)
	m.bodies = bodies
	hook := &bot.Webhook{Secret: cfg.LineChannelSecret, Intake: intake, Log: log}
	r := newRouter(signedOnly(bodies, hook, "X-Line-Signature"), intake.Ping)
	r.Method(http.MethodPost, "/slack/events", signedOnly(bodies, staff.EventsHandler(), "X-Slack-Signature", "X-Slack-Request-Timestamp"))
	r.Method(http.MethodPost, "/slack/interactions", signedOnly(bodies, staff.InteractionsHandler(), "X-Slack-Signature", "X-Slack-Request-Timestamp"))
	r.Method(http.MethodGet, "/metrics", m)
	return &service{cfg: cfg, log: log, workers: workers, slack: staff, stats: counts, handler: r}, nil
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
// the event at hand).
func (s *service) run(ctx context.Context, ln net.Listener) error {
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
	s.log.Info("serving", "addr", ln.Addr().String(), "shards", s.cfg.Shards)

	var err error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
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
