package studio

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long the folder must be quiet before a reload: an editor
// saving one file makes several events (write, chmod, rename), and a
// reload per event would show half-saved states.
const settle = 150 * time.Millisecond

// Watch reloads the flow whenever a .yaml file in the flow folder or its
// tests/ folder changes, until ctx ends. It returns nil at once for the
// embedded flow, which cannot change.
func (s *Studio) Watch(ctx context.Context) error {
	w, err := s.Watcher()
	if err != nil || w == nil {
		return err
	}
	return w.Run(ctx)
}

// Watcher is a watch on a studio's flow folder, already in place: changes
// made after Watcher returns are seen.
type Watcher struct {
	s     *Studio
	w     *fsnotify.Watcher
	tests string
}

// Watcher starts watching the flow folder; nil for the embedded flow.
// Run must follow, to act on what it sees and to release it.
func (s *Studio) Watcher() (*Watcher, error) {
	if s.opt.Dir == "" {
		return nil, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("studio: watch %s: %w", s.opt.Dir, err)
	}
	if err := w.Add(s.opt.Dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("studio: watch %s: %w", s.opt.Dir, err)
	}
	tests := filepath.Join(s.opt.Dir, testsDir)
	// tests/ may not exist yet; it is watched once it is made.
	_ = w.Add(tests)
	return &Watcher{s: s, w: w, tests: tests}, nil
}

// Run reloads the flow after each burst of changes, until ctx ends.
func (wa *Watcher) Run(ctx context.Context) error {
	defer wa.w.Close()
	timer := time.NewTimer(settle)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wa.w.Events:
			if !ok {
				return nil
			}
			if ev.Name == wa.tests && ev.Has(fsnotify.Create) {
				if err := wa.w.Add(wa.tests); err != nil {
					wa.s.log.Warn("studio: cannot watch the tests folder", "err", err)
				}
			}
			if relevant(ev) {
				timer.Reset(settle)
			}
		case err, ok := <-wa.w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: reload to be sure the page is current.
				timer.Reset(settle)
				continue
			}
			wa.s.log.Warn("studio: watching the flow folder", "err", err)
		case <-timer.C:
			wa.s.Reload()
		}
	}
}

// relevant reports whether an event may change the flow or its tests:
// .yaml files and folders, not an editor's swap and backup files.
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml" || name == testsDir
}
