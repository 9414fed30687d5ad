package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// metrics are the few counters an operator (and the benchmark) reads at
// GET /metrics, in Prometheus' text format. Hand-written: a handful of
// counters do not need a client library.
type metrics struct {
	// redisRoundTrips counts requests to Redis: one per command, one per
	// pipeline however many commands it carries.
	redisRoundTrips atomic.Int64
	// redisCommands counts the commands sent.
	redisCommands atomic.Int64
	bodies        *bodyPool
}

// redisHook counts round trips and commands of a go-redis client.
type redisHook struct{ m *metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.m.redisRoundTrips.Add(1)
		h.m.redisCommands.Add(1)
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.m.redisRoundTrips.Add(1)
		h.m.redisCommands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// ServeHTTP writes the counters.
func (m *metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	counter(w, "tsunagu_redis_roundtrips_total", "Requests sent to Redis (a pipeline is one).", m.redisRoundTrips.Load())
	counter(w, "tsunagu_redis_commands_total", "Commands sent to Redis.", m.redisCommands.Load())
	if m.bodies != nil {
		counter(w, "tsunagu_http_bodies_refused_total", "Requests answered 503 because the body budget was spent.", m.bodies.refused.Load())
		gauge(w, "tsunagu_http_body_bytes", "Bytes of request bodies being read now.", m.bodies.inUse.Load())
	}
}

func counter(w io.Writer, name, help string, v int64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

func gauge(w io.Writer, name, help string, v int64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
}
