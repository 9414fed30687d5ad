package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealth is `tsunagu health`: it asks a running serve's /readyz and
// exits 0 when ready, 1 when not (or not answering), for a container's
// HEALTHCHECK. It needs no shell and no curl in the image.
func runHealth(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("tsunagu health", flag.ContinueOnError)
	fset.SetOutput(stderr)
	target := fset.String("url", "", "the URL to probe (default: /readyz on ADDR, on this host)")
	timeout := fset.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fset.Usage = func() {
		fmt.Fprint(stderr, "usage: tsunagu health [--url URL] [--timeout 3s]\n\nExits 0 when serve's /readyz answers 200, 1 otherwise.\n\n")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	u := *target
	if u == "" {
		u = readyURL(serveGetenv("ADDR"))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu health: %v\n", err)
		return 2
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu health: not ready: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "tsunagu health: not ready (%d): %s\n", res.StatusCode, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s", body)
	return 0
}

// readyURL is /readyz on the address serve listens on (ADDR, ":8080"
// when unset), reached through the loopback when it names no host.
func readyURL(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/readyz"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
