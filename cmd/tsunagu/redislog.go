package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// redisLog is go-redis's logger (redis.SetLogger): its lines go into the
// service's structured log instead of plain text beside it, and a message
// repeated within window — an outage prints one per failed dial, hundreds
// a minute — is logged once, then once more with how many followed.
type redisLog struct {
	log    *slog.Logger
	window time.Duration

	mu     sync.Mutex
	bursts map[string]*burst // by format string: the same message with other values
}

// burst is a message being held back.
type burst struct {
	more int
	last string
}

func newRedisLog(log *slog.Logger, window time.Duration) *redisLog {
	return &redisLog{log: log, window: window, bursts: map[string]*burst{}}
}

// Printf is go-redis's internal.Logging.
func (l *redisLog) Printf(ctx context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if !strings.HasPrefix(msg, "redis: ") {
		msg = "redis: " + msg
	}
	l.mu.Lock()
	if b, ok := l.bursts[format]; ok {
		b.more++
		b.last = msg
		l.mu.Unlock()
		return
	}
	b := &burst{}
	l.bursts[format] = b
	l.mu.Unlock()
	time.AfterFunc(l.window, func() { l.flush(format, b) })
	l.log.WarnContext(ctx, msg)
}

// flush ends a burst: the messages held back are counted, the last one said.
func (l *redisLog) flush(format string, b *burst) {
	l.mu.Lock()
	delete(l.bursts, format)
	more, last := b.more, b.last
	l.mu.Unlock()
	if more > 0 {
		l.log.Warn(fmt.Sprintf("%s (%d more in the last %s)", last, more, l.window), "repeated", more)
	}
}
