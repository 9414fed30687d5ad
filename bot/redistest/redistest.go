// Package redistest gives tests a real Redis: the one named by REDIS_URL, or
// a redis-server of their own on a free loopback port, stopped at cleanup.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server started by a test.
type Server struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
	// args are further redis-server arguments (a replica's --replicaof).
	args []string
}

// Env is what a test needs to use Redis without stepping on other tests.
type Env struct {
	// URL is the Redis URL to connect to.
	URL string
	// Prefix is a key prefix unique to this test ("tsunagu:t-1a2b3c:").
	Prefix string
	// Server is set when the test started its own redis-server.
	Server *Server
}

// New returns REDIS_URL when it is set and a private redis-server otherwise,
// with a key prefix unique to the test either way.
func New(t testing.TB) Env {
	t.Helper()
	env := Env{Prefix: UniquePrefix()}
	if u := os.Getenv("REDIS_URL"); u != "" {
		env.URL = u
		return env
	}
	env.Server = Start(t)
	env.URL = env.Server.URL()
	return env
}

// Client opens a go-redis client on the environment, closed at cleanup.
// It refuses what a Redis Cluster would (SlotCheck).
func (e Env) Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(e.URL)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opt)
	c.AddHook(SlotCheck{})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// UniquePrefix returns a fresh "tsunagu:t-xxxxxxxx:" key prefix.
func UniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "tsunagu:t-" + hex.EncodeToString(b[:]) + ":"
}

// Start runs a private redis-server on a free loopback port; it is stopped
// when the test ends. The test is skipped only if redis-server is not installed
// and REDIS_URL is unset, which .ci/run prevents.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server not found and REDIS_URL unset: install redis-server (.ci/run does)")
	}
	s := &Server{t: t, dir: t.TempDir(), port: freePort(t)}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log"))
	s.cmd.Args = append(s.cmd.Args, s.args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	if err := awaitPing(s.Addr()); err != nil {
		s.t.Fatalf("redistest: redis-server did not answer: %v", err)
	}
}

// Stop kills the server; data is lost, as when a Redis without persistence dies.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// awaitPing waits up to 10s for a just-started redis-server at addr to
// answer PING, and returns the last error when it never does.
func awaitPing(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
