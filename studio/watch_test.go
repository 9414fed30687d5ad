package studio

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// waitVersion waits for the studio to publish a version after from.
func waitVersion(t *testing.T, ch <-chan int, from int) int {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case v := <-ch:
			if v > from {
				return v
			}
		case <-timeout:
			t.Fatalf("no reload after version %d within 10s", from)
		}
	}
}

func TestWatchReloadsOnSaveAndOnNewTests(t *testing.T) {
	dir := copyFlow(t)
	if err := os.RemoveAll(filepath.Join(dir, "tests")); err != nil {
		t.Fatal(err)
	}
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ch, stop := st.events.subscribe()
	defer stop()
	w, err := st.Watcher()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	// A broken save is seen, with its problem.
	edit(t, filepath.Join(dir, "states.yaml"), func(s string) string { return strings.Replace(s, "next: ask_who\n", "next: ask_whoo\n", 1) })
	v := waitVersion(t, ch, 1)
	if sn := st.snap(); len(sn.Problems) == 0 || sn.runnable() != nil {
		t.Fatalf("version %d: want the problem seen, got %+v", v, sn.Problems)
	}
	// A tests folder made after the start is watched too.
	if _, err := writeTest(dir, []byte("tests: []\n")); err != nil {
		t.Fatal(err)
	}
	v = waitVersion(t, ch, v)
	if err := os.WriteFile(filepath.Join(dir, "tests", "studio-01.yaml"), []byte("tests: []\n# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, ch, v)

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRelevantChanges(t *testing.T) {
	tests := []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{"/f/states.yaml", fsnotify.Write, true},
		{"/f/states.yml", fsnotify.Create, true},
		{"/f/states.yaml", fsnotify.Rename, true},
		{"/f/tests", fsnotify.Create, true},
		{"/f/states.yaml", fsnotify.Chmod, false},
		{"/f/.states.yaml.swp", fsnotify.Write, false},
		{"/f/states.yaml~", fsnotify.Write, false},
		{"/f/4913", fsnotify.Create, false},
		{"/f/notes.txt", fsnotify.Write, false},
	}
	for _, tt := range tests {
		if got := relevant(fsnotify.Event{Name: tt.name, Op: tt.op}); got != tt.want {
			t.Errorf("relevant(%s %v) = %v, want %v", tt.name, tt.op, got, tt.want)
		}
	}
}

func TestEmbeddedFlowIsNotWatched(t *testing.T) {
	st, err := New(Options{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Watch(t.Context()); err != nil {
		t.Errorf("Watch on the embedded flow: %v", err)
	}
}
