package studio

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

// quietLogger sends the studio's warnings to the test's log.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// defaultFlow is the embedded default flow, loaded once: the first load
// reads the dictionary, which is slow under the race detector.
var defaultFlow = sync.OnceValues(flows.LoadDefault)

func mustDefault(t *testing.T) *flows.Flow {
	t.Helper()
	f, err := defaultFlow()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// flowWith copies the default flow and changes it: each change replaces the
// first old with new in file (old "" appends new).
func flowWith(t *testing.T, changes ...change) string {
	t.Helper()
	dir := copyFlow(t)
	for _, c := range changes {
		path := filepath.Join(dir, c.file)
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		s := string(b)
		if c.old != "" && !strings.Contains(s, c.old) {
			t.Fatalf("%s has no %q", c.file, c.old)
		}
		if c.old == "" {
			s += c.new
		} else {
			s = strings.Replace(s, c.old, c.new, 1)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// change is one edit of a flow file.
type change struct{ file, old, new string }
