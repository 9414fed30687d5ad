package bot

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"sync"

	"github.com/tsunagu-city/tsunagu/flows"
)

// LogHandoffs is a Handoffs that only logs: case id, categories and
// urgency. It serves tests and a `serve` without Slack configured. Cases
// live in memory and are idempotent by key within the process.
type LogHandoffs struct {
	log *slog.Logger

	mu     sync.Mutex
	byKey  map[string]string
	opened []string
	events []string
}

// NewLogHandoffs returns a LogHandoffs logging to log (slog.Default when nil).
func NewLogHandoffs(log *slog.Logger) *LogHandoffs {
	if log == nil {
		log = slog.Default()
	}
	return &LogHandoffs{log: log, byKey: map[string]string{}}
}

// caseAlphabet leaves out look-alikes (0/O, 1/I/L) so staff can read ids aloud.
const caseAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newCaseID returns a short random id such as "C-7KQ2MX": not derived from
// anything about the resident.
func newCaseID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	var sb strings.Builder
	sb.WriteString("C-")
	for _, x := range b {
		sb.WriteByte(caseAlphabet[int(x)%len(caseAlphabet)])
	}
	return sb.String()
}

// Open implements Handoffs.
func (l *LogHandoffs) Open(_ context.Context, _ string, h flows.Handoff, key string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id, ok := l.byKey[key]; ok {
		return id, nil
	}
	id := newCaseID()
	l.byKey[key] = id
	l.opened = append(l.opened, id)
	l.events = append(l.events, "open "+id)
	l.log.Info("case opened (no staff adapter configured)", "case", id,
		"categories", strings.Join(h.Categories, ","), "urgent", h.Urgent, "crisis", h.Crisis,
		"compound", h.Compound, "reopen", h.Reopen)
	return id, nil
}

// Escalate implements Handoffs.
func (l *LogHandoffs) Escalate(_ context.Context, caseID string, h flows.Handoff, key string) error {
	if !l.first(key, caseID, "escalate") {
		return nil
	}
	l.log.Warn("case escalated (no staff adapter configured)", "case", caseID, "urgent", h.Urgent, "crisis", h.Crisis)
	return nil
}

// Relay implements Handoffs; the texts are not logged.
func (l *LogHandoffs) Relay(_ context.Context, caseID, key string, texts, _ []string) error {
	if !l.first(key, caseID, "relay") {
		return nil
	}
	l.log.Info("resident message for case (no staff adapter configured)", "case", caseID, "messages", len(texts))
	return nil
}

// Unsend implements Handoffs.
func (l *LogHandoffs) Unsend(_ context.Context, caseID, _, key string) error {
	if !l.first(key, caseID, "unsend") {
		return nil
	}
	l.log.Info("resident unsent a message of case (no staff adapter configured)", "case", caseID)
	return nil
}

// Forget implements Handoffs; only the case id is logged.
func (l *LogHandoffs) Forget(_ context.Context, caseID, key string) error {
	if !l.first(key, caseID, "forget") {
		return nil
	}
	l.log.Info("case cut from its resident (no staff adapter configured)", "case", caseID)
	return nil
}

// Suggest implements Handoffs.
func (l *LogHandoffs) Suggest(_ context.Context, caseID string, categories []string, key string) error {
	if !l.first(key, caseID, "suggest") {
		return nil
	}
	l.log.Info("needs suggested for case (no staff adapter configured)", "case", caseID, "categories", strings.Join(categories, ","))
	return nil
}

// CheckAsked implements Handoffs.
func (l *LogHandoffs) CheckAsked(_ context.Context, caseID, kind, key string) error {
	if !l.first(key, caseID, "check") {
		return nil
	}
	l.log.Info("safety check asked in case (no staff adapter configured)", "case", caseID, "kind", kind)
	return nil
}

// first records that key's event happened to the case, and reports whether
// this is its first time: the calls are idempotent by key.
func (l *LogHandoffs) first(key, caseID, event string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byKey[key]; ok {
		return false
	}
	l.byKey[key] = caseID
	l.events = append(l.events, event+" "+caseID)
	return true
}

// Events lists what happened, in order ("open C-…", "escalate C-…", "relay C-…", "forget C-…").
func (l *LogHandoffs) Events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}
