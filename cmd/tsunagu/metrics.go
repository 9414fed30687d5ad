package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/handoff"
	"github.com/tsunagu-city/tsunagu/stats"
)

// metrics are what an operator (and the benchmark) reads at GET /metrics,
// all named tsunagu_*, on a registry of their own. The bot and handoff
// packages report through their Observer interfaces; what needs Redis
// (backlog, cases) is read when scraped, never on the LINE path.
type metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	accepted  prometheus.Counter
	processed prometheus.Counter
	failed    prometheus.Counter
	lag       prometheus.Histogram
	line      *prometheus.HistogramVec
	slack     *prometheus.HistogramVec
	handoffs  *prometheus.CounterVec
	crises    *prometheus.CounterVec
	checks    *prometheus.CounterVec
	// redisRoundTrips counts requests to Redis: one per command, one per
	// pipeline however many commands it carries.
	redisRoundTrips prometheus.Counter
	redisCommands   prometheus.Counter
	reloads         *prometheus.CounterVec
	flowInfo        *prometheus.GaugeVec
}

// callBuckets suit calls to LINE and Slack: tens of milliseconds when
// well, seconds when not.
var callBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	f := registerer{reg}
	m := &metrics{
		reg: reg,
		requests: f.counterVec("tsunagu_webhook_requests_total",
			"Requests to the webhooks, by route (line, slack_events, slack_interactions) and HTTP status.", "route", "code"),
		accepted:  f.counter("tsunagu_events_accepted_total", "LINE events stored in the intake by the webhook."),
		processed: f.counter("tsunagu_events_processed_total", "Intake entries worked and acknowledged."),
		failed: f.counter("tsunagu_events_failed_total",
			"Intake entries whose work failed for now (LINE or Redis failing); they are tried again."),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tsunagu_intake_lag_seconds",
			Help:    "Time from the webhook storing an event to a worker stepping it.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		line: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tsunagu_line_request_duration_seconds",
			Help: "Calls to the LINE Messaging API, by operation and HTTP status (0: no answer).", Buckets: callBuckets},
			[]string{"op", "code"}),
		slack: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tsunagu_slack_request_duration_seconds",
			Help:    "Calls to the Slack Web API, by method and result (ok, Slack's error code, ratelimited, an HTTP status or network).",
			Buckets: callBuckets}, []string{"method", "code"}),
		handoffs: f.counterVec("tsunagu_handoffs_total", "Cases opened, by home category and urgency.", "category", "urgent"),
		crises:   f.counterVec("tsunagu_crisis_verdicts_total", "Crisis answers given, by crisis kind.", "kind"),
		checks:   f.counterVec("tsunagu_safety_checks_total", "Safety checks asked, by crisis kind.", "kind"),
		redisRoundTrips: f.counter("tsunagu_redis_roundtrips_total",
			"Requests sent to Redis (a pipeline is one)."),
		redisCommands: f.counter("tsunagu_redis_commands_total", "Commands sent to Redis."),
		reloads:       f.counterVec("tsunagu_flow_reloads_total", "Flow reloads (SIGHUP), by result: ok or refused.", "result"),
		flowInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tsunagu_flow_info",
			Help: "The flow running now (value 1), by name and hash."}, []string{"name", "hash"}),
	}
	reg.MustRegister(m.lag, m.line, m.slack, m.flowInfo)
	// Go's own figures, under the same prefix (tsunagu_go_goroutines…).
	pre := prometheus.WrapRegistererWithPrefix("tsunagu_", reg)
	pre.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// registerer registers counters as it makes them.
type registerer struct{ prometheus.Registerer }

func (r registerer) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	r.MustRegister(c)
	return c
}

func (r registerer) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.MustRegister(c)
	return c
}

// handler serves the registry.
func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// instrument counts a webhook's requests by status.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(prometheus.Labels{"route": route}), h)
}

// bodies reports the body budget's use.
func (m *metrics) bodies(b *bodyPool) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tsunagu_http_bodies_refused_total",
			Help: "Requests answered 503 because the body budget was spent."},
			func() float64 { return float64(b.refused.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tsunagu_http_body_bytes",
			Help: "Bytes of request bodies being read now."},
			func() float64 { return float64(b.inUse.Load()) }))
}

// statistics reports how the monthly statistics are written: dropped
// events mean the year's figures are short (Redis refused them, or the
// writer fell behind).
func (m *metrics) statistics(r *stats.Recorder) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tsunagu_stats_events_written_total",
			Help: "Case events added to the monthly statistics."},
			func() float64 { return float64(r.Written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tsunagu_stats_events_dropped_total",
			Help: "Case events not counted in the monthly statistics (Redis refused them or the queue was full)."},
			func() float64 { return float64(r.Dropped()) }))
}

// The bot.Observer and handoff.Observer methods.

func (m *metrics) EventsAccepted(n int)      { m.accepted.Add(float64(n)) }
func (m *metrics) EventsProcessed(n int)     { m.processed.Add(float64(n)) }
func (m *metrics) EventsFailed(n int)        { m.failed.Add(float64(n)) }
func (m *metrics) IntakeLag(d time.Duration) { m.lag.Observe(d.Seconds()) }
func (m *metrics) LINECall(op string, status int, d time.Duration) {
	m.line.WithLabelValues(op, strconv.Itoa(status)).Observe(d.Seconds())
}
func (m *metrics) Handoff(category string, urgent bool) {
	m.handoffs.WithLabelValues(category, strconv.FormatBool(urgent)).Inc()
}
func (m *metrics) Crisis(kind string)      { m.crises.WithLabelValues(kind).Inc() }
func (m *metrics) SafetyCheck(kind string) { m.checks.WithLabelValues(kind).Inc() }
func (m *metrics) SlackCall(method, code string, d time.Duration) {
	m.slack.WithLabelValues(method, code).Observe(d.Seconds())
}

var (
	_ bot.Observer     = (*metrics)(nil)
	_ handoff.Observer = (*metrics)(nil)
)

// stateCollector reads, when scraped, what lives in Redis: each shard's
// backlog and the cases waiting for staff.
type stateCollector struct {
	intake *bot.Intake
	cases  interface {
		CaseCounts(context.Context) (handoff.CaseCounts, error)
	}
	now func() time.Time
	log *slog.Logger

	pending, open, unclaimed, oldest *prometheus.Desc
}

func newStateCollector(in *bot.Intake, cases *handoff.Service, log *slog.Logger) *stateCollector {
	return &stateCollector{intake: in, cases: cases, now: time.Now, log: log,
		pending: prometheus.NewDesc("tsunagu_intake_pending_events",
			"Events in a shard's intake: waiting for its worker or being worked.", []string{"shard"}, nil),
		open: prometheus.NewDesc("tsunagu_cases_open",
			"Cases not closed, claimed or not.", nil, nil),
		unclaimed: prometheus.NewDesc("tsunagu_cases_unclaimed",
			"Cases nobody has claimed yet.", nil, nil),
		oldest: prometheus.NewDesc("tsunagu_oldest_unclaimed_urgent_case_age_seconds",
			"Age of the oldest urgent case nobody has claimed; 0 when there is none.", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.open
	ch <- c.unclaimed
	ch <- c.oldest
}

// Collect leaves out what Redis did not answer within a second: a scrape
// must not hang, and a missing series is what an absent() alert sees.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if backlog, err := c.intake.Backlog(ctx); err == nil {
		for s, n := range backlog {
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n), strconv.Itoa(s))
		}
	} else {
		c.log.Warn("metrics: intake backlog not read", "err", err)
	}
	cc, err := c.cases.CaseCounts(ctx)
	if err != nil {
		c.log.Warn("metrics: cases not counted", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(cc.Open))
	ch <- prometheus.MustNewConstMetric(c.unclaimed, prometheus.GaugeValue, float64(cc.Unclaimed))
	age := 0.0
	if !cc.OldestUrgent.IsZero() {
		age = max(c.now().Sub(cc.OldestUrgent).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}

// redisHook counts round trips and commands of a go-redis client.
type redisHook struct{ m *metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.m.redisRoundTrips.Inc()
		h.m.redisCommands.Inc()
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.m.redisRoundTrips.Inc()
		h.m.redisCommands.Add(float64(len(cmds)))
		return next(ctx, cmds)
	}
}
