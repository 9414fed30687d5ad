package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/studio"
)

func TestStudioRefusesTheNetworkWithoutAPassword(t *testing.T) {
	old := studioGetenv
	studioGetenv = func(string) string { return "" }
	t.Cleanup(func() { studioGetenv = old })
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"studio", "--addr", "0.0.0.0:0"}, 2, "TSUNAGU_STUDIO_PASSWORD"},
		{[]string{"studio", "--addr", ":0"}, 2, "TSUNAGU_STUDIO_PASSWORD"},
		{[]string{"studio", "--addr", "192.0.2.1:8787"}, 2, "TSUNAGU_STUDIO_PASSWORD"},
		{[]string{"studio", "--addr", "nonsense"}, 2, "--addr nonsense"},
		{[]string{"studio", "extra"}, 2, "unexpected argument"},
		{[]string{"studio", "--flow", "/no/such/folder", "--addr", "127.0.0.1:0"}, 1, "flow folder"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8787", true},
		{"localhost:8787", true},
		{"[::1]:8787", true},
		{"127.0.0.2:8787", true},
		{":8787", false},
		{"0.0.0.0:8787", false},
		{"192.168.1.10:8787", false},
		{"studio.city.local:8787", false},
	}
	for _, tt := range tests {
		got, err := isLoopback(tt.addr)
		if err != nil || got != tt.want {
			t.Errorf("isLoopback(%q) = %v, %v; want %v", tt.addr, got, err, tt.want)
		}
	}
}

func TestPageURL(t *testing.T) {
	tests := []struct{ listening, want string }{
		{"127.0.0.1:8787", "http://127.0.0.1:8787/"},
		{"[::1]:8787", "http://[::1]:8787/"},
		{"[::]:8787", "http://127.0.0.1:8787/"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/"},
		{"192.168.1.10:8787", "http://192.168.1.10:8787/"},
	}
	for _, tt := range tests {
		if got := pageURL(tt.listening); got != tt.want {
			t.Errorf("pageURL(%q) = %q, want %q", tt.listening, got, tt.want)
		}
	}
}

func TestServeStudioStopsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := studio.New(studio.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serveStudio(ctx, ln, st, log) }()

	url := "http://" + ln.Addr().String()
	res, err := http.Get(url + "/api/flow")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/flow: %d", res.StatusCode)
	}
	// An open event stream must not hold the studio up when it stops.
	events, err := http.Get(url + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveStudio: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveStudio did not stop within 10s of its context ending")
	}
}
