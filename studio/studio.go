// Package studio is the flow studio: one local web page on which a city's
// welfare staff see a flow's problems and its map, try a conversation as a
// resident, see why triage decided what it did, keep a conversation as a
// test, and check triage on a bench of messages — without a terminal.
//
// It reads and writes the flow folder only. It never reads residents' data:
// it has no Redis client and no LINE or Slack credentials.
package studio

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Options configure a Studio; the zero value shows the embedded default flow.
type Options struct {
	// Dir is the flow folder on disk. Empty shows the flow built into the
	// binary, read-only: it can be tried but not edited or given tests.
	Dir string
	// Password, when set, is asked by the browser (basic auth) before any page.
	Password string
	// Hosts are the Host header values the page answers to, so that a web
	// page elsewhere cannot reach a studio on 127.0.0.1 by DNS rebinding.
	// Empty answers any host (for a studio behind a password).
	Hosts []string
	// Logger receives reloads and failures; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock that names the times of reloads; time.Now when nil.
	Now func() time.Time
}

// Studio is the studio's http.Handler and the flow it shows, reloaded
// when the folder changes (see Watch).
type Studio struct {
	opt     Options
	log     *slog.Logger
	handler http.Handler
	events  *hub

	reloading sync.Mutex // one load at a time, so versions count up in order
	current   atomic.Pointer[snapshot]
}

// snapshot is the flow as last loaded. A flow with problems is shown (its
// map, its texts, as far as they could be read), never run.
type snapshot struct {
	Version int
	Loaded  time.Time
	// Flow is the flow as far as it could be read; nil when nothing could.
	Flow     *flows.Flow
	Problems []ProblemView
	// Err is a failure that is not a problem in the flow's files (the
	// folder is gone, a file cannot be read).
	Err string
}

// New loads the flow and returns the studio serving it.
func New(opt Options) (*Studio, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Dir != "" {
		abs, err := filepath.Abs(opt.Dir)
		if err != nil {
			return nil, fmt.Errorf("studio: flow folder: %w", err)
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("studio: flow folder: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("studio: %s is a file; give the folder that holds the flow's .yaml files", opt.Dir)
		}
		opt.Dir = abs
	}
	s := &Studio{opt: opt, log: opt.Logger, events: newHub()}
	s.handler = s.routes()
	s.Reload()
	return s, nil
}

// ServeHTTP serves the page and its API.
func (s *Studio) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ReadOnly reports whether the studio shows the embedded flow, which cannot be edited.
func (s *Studio) ReadOnly() bool { return s.opt.Dir == "" }

// Dir is the flow folder shown, or "" for the embedded flow.
func (s *Studio) Dir() string { return s.opt.Dir }

// Version counts the loads of the flow; the page reloads when it changes.
func (s *Studio) Version() int { return s.snap().Version }

func (s *Studio) snap() *snapshot { return s.current.Load() }

// runnable is the flow when it may be run: loaded, without a problem.
func (sn *snapshot) runnable() *flows.Flow {
	if sn.Flow == nil || len(sn.Problems) > 0 || sn.Err != "" {
		return nil
	}
	return sn.Flow
}

// Reload reads the flow folder again and tells every open page.
func (s *Studio) Reload() {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	next := &snapshot{Loaded: s.opt.Now()}
	if prev := s.snap(); prev != nil {
		next.Version = prev.Version + 1
	} else {
		next.Version = 1
	}
	f, err := s.load()
	next.Flow = f
	var problems flows.Problems
	switch {
	case errors.As(err, &problems):
		next.Problems = s.problemViews(problems, "")
	case err != nil:
		next.Err = err.Error()
	}
	s.current.Store(next)
	s.log.Info("studio: flow loaded", "version", next.Version, "problems", len(next.Problems), "err", next.Err)
	s.events.publish(next.Version)
}

func (s *Studio) load() (*flows.Flow, error) {
	if s.opt.Dir == "" {
		return flows.LoadDefault()
	}
	return flows.LoadPath(s.opt.Dir)
}

// testFiles is the folder of the flow's conversation tests, with the
// prefix its file names are shown with; nil when there is none yet.
func (s *Studio) testFiles() (fs.FS, string) {
	if s.opt.Dir == "" {
		return flows.DefaultTests(), "tests/"
	}
	dir := filepath.Join(s.opt.Dir, testsDir)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, ""
	}
	return os.DirFS(dir), testsDir + "/"
}

// testsDir is the flow's folder of conversation tests (docs/flows.md §7).
const testsDir = "tests"
