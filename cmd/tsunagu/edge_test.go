package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/config"
)

// unreadable is a body that fails the test if it is read.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("a body that should have been refused was read")
	return 0, errors.New("unreadable")
}
func (u unreadable) Close() error { return nil }

func TestSignedOnly(t *testing.T) {
	var got []byte
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := r.Body.(interface{ Bytes() []byte })
		if !ok {
			t.Error("the handler's body is not the one read in memory")
			return
		}
		got = append([]byte(nil), b.Bytes()...)
	})
	tests := []struct {
		name   string
		sig    string
		length int64
		body   io.ReadCloser
		spent  int64 // budget already in use
		want   int
	}{
		{"signed", "s", 5, io.NopCloser(strings.NewReader("hello")), 0, http.StatusOK},
		{"unknown length", "s", -1, io.NopCloser(strings.NewReader("chunked body")), 0, http.StatusOK},
		{"no signature: the body is not read", "", 5, unreadable{t}, 0, http.StatusUnauthorized},
		{"declared too large: not read", "s", maxBody + 1, unreadable{t}, 0, http.StatusRequestEntityTooLarge},
		{"longer than declared unknown", "s", -1, io.NopCloser(bytes.NewReader(make([]byte, maxBody+1))), 0, http.StatusRequestEntityTooLarge},
		{"budget spent: 503, not read", "s", 5, unreadable{t}, 4 << 20, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := newBodyPool(4 << 20)
			pool.inUse.Store(tt.spent)
			got = nil
			r := httptest.NewRequest(http.MethodPost, "/webhook/line", nil)
			r.Body, r.ContentLength = tt.body, tt.length
			if tt.sig != "" {
				r.Header.Set("X-Line-Signature", tt.sig)
			}
			w := httptest.NewRecorder()
			signedOnly(pool, echo, "X-Line-Signature").ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if tt.want != http.StatusOK && w.Header().Get("Connection") != "close" {
				t.Error("a refused request keeps its connection (and the server would read the body)")
			}
			if tt.want == http.StatusOK && len(got) == 0 {
				t.Error("the handler got no body")
			}
			if n := pool.inUse.Load(); n != tt.spent {
				t.Errorf("%d bytes still reserved after the request, want %d", n, tt.spent)
			}
		})
	}
}

// edgeServer serves the edge on a loopback port with the given read
// timeout, and idle connections closed after 300ms.
func edgeServer(t *testing.T, budget int64, read time.Duration) (addr string, pool *bodyPool) {
	t.Helper()
	cfg := config.Defaults()
	cfg.HTTPReadTimeout, cfg.HTTPWriteTimeout, cfg.HTTPIdleTimeout = read, time.Second, 300*time.Millisecond
	pool = newBodyPool(budget)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("/webhook/line", signedOnly(pool, ok, "X-Line-Signature"))
	mux.Handle("/healthz", ok)
	srv := server(cfg, mux, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), pool
}

// closedWithin reports whether the server closes conn within d (it reads
// and discards whatever the server still sends).
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// An idle keep-alive connection is closed by the server after IdleTimeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	addr, _ := edgeServer(t, 4<<20, 300*time.Millisecond)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != 200 || res.Close {
		t.Fatalf("keep-alive request: %v %v", res, err)
	}
	if !closedWithin(conn, 5*time.Second) {
		t.Error("idle keep-alive connection still open after 5s (IdleTimeout 300ms)")
	}
}

// A client that sends its body slowly is cut off after ReadTimeout, and its
// reservation of the body budget is given back.
func TestSlowBodiesAreCut(t *testing.T) {
	addr, pool := edgeServer(t, 4<<20, 300*time.Millisecond)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhook/line HTTP/1.1\r\nHost: x\r\nX-Line-Signature: s\r\nContent-Length: 100000\r\n\r\n0123456789")
	if !closedWithin(conn, 5*time.Second) {
		t.Fatal("slow body not cut after 5s (ReadTimeout 300ms)")
	}
	deadline := time.Now().Add(5 * time.Second)
	for pool.inUse.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still reserved after the cut", pool.inUse.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stalled uploads hold at most the budget: past it they are answered 503
// at once, without their bodies being read.
func TestStalledUploadsHoldAtMostTheBudget(t *testing.T) {
	const budget, uploads = 4 << 20, 40
	addr, pool := edgeServer(t, budget, time.Minute) // stalled for the whole test
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range uploads {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "POST /webhook/line HTTP/1.1\r\nHost: x\r\nX-Line-Signature: s\r\nContent-Length: %d\r\n\r\n", maxBody)
	}
	// Beyond the budget the answer comes at once; within it the server
	// waits for a body that never comes.
	codes := make(chan int, uploads)
	for _, conn := range conns {
		go func() {
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				codes <- 0
				return
			}
			codes <- res.StatusCode
		}()
	}
	refused := 0
	for range uploads {
		if <-codes == http.StatusServiceUnavailable {
			refused++
		}
		if n := pool.inUse.Load(); n > budget {
			t.Fatalf("%d bytes of bodies held, budget %d", n, budget)
		}
	}
	if want := uploads - budget/maxBody; refused != want {
		t.Errorf("%d uploads refused, want %d (all beyond the budget)", refused, want)
	}
}
