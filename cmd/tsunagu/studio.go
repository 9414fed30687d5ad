package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tsunagu-city/tsunagu/studio"
)

const studioUsage = `usage: tsunagu studio [--flow DIR] [--addr 127.0.0.1:8787]

Serves the flow studio, a page for editing, seeing, trying and testing the
conversation in a browser. Open the address it prints.
  --flow DIR   the flow folder (default: flows/default when it is here, else
               the flow built into tsunagu, read-only)
  --addr ADDR  where to listen (default 127.0.0.1:8787, this computer only).
               Any other address needs TSUNAGU_STUDIO_PASSWORD set: the
               browser then asks for it.
`

// studioGetenv reads TSUNAGU_STUDIO_PASSWORD; tests replace it.
var studioGetenv = os.Getenv

// defaultStudioFlow is the folder used when --flow is not given, if it
// exists: the checkout's default flow, where an administrator edits it.
const defaultStudioFlow = "flows/default"

// runStudio serves the studio until ctx ends.
func runStudio(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("studio", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, studioUsage) }
	dir := fset.String("flow", "", "flow folder")
	addr := fset.String("addr", "127.0.0.1:8787", "address to listen on")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "tsunagu studio: unexpected argument %q\n\n%s", fset.Arg(0), studioUsage)
		return 2
	}
	password := studioGetenv("TSUNAGU_STUDIO_PASSWORD")
	loopback, err := isLoopback(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu studio: --addr %s: %v\n", *addr, err)
		return 2
	}
	if !loopback && password == "" {
		fmt.Fprintf(stderr, "tsunagu studio: --addr %s lets other computers reach the studio; set TSUNAGU_STUDIO_PASSWORD first, or use 127.0.0.1\n", *addr)
		return 2
	}
	if *dir == "" {
		if info, err := os.Stat(defaultStudioFlow); err == nil && info.IsDir() {
			*dir = defaultStudioFlow
		}
	}
	log := newLogger("text", stderr)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu studio: listen on %s: %v\n", *addr, err)
		return 1
	}
	opt := studio.Options{Dir: *dir, Password: password, Logger: log}
	if loopback {
		opt.Hosts = loopbackHosts(ln.Addr().(*net.TCPAddr).Port)
	}
	st, err := studio.New(opt)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "tsunagu studio: %v\n", err)
		return 1
	}
	url := pageURL(ln.Addr().String())
	shown := st.Dir()
	if shown == "" {
		shown = "the flow built into tsunagu (read-only; use --flow DIR to edit one)"
	}
	fmt.Fprintf(stdout, "tsunagu studio: %s\n  ブラウザーで開いてください / open in a browser: %s\n  止めるには Ctrl-C / Ctrl-C stops it\n", shown, url)
	if err := serveStudio(ctx, ln, st, log); err != nil {
		fmt.Fprintf(stderr, "tsunagu studio: %v\n", err)
		return 1
	}
	return 0
}

// serveStudio serves st on ln and watches its folder until ctx ends.
func serveStudio(ctx context.Context, ln net.Listener, st *studio.Studio, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- st.Watch(ctx) }()
	srv := &http.Server{
		Handler:           st,
		ReadHeaderTimeout: 10 * time.Second,
		// Request contexts end with ctx, so the pages' event streams close
		// and Shutdown does not wait on them.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case err := <-watched:
		if err != nil {
			srv.Close()
			return err
		}
		// The embedded flow is not watched: serve until ctx ends.
		select {
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// isLoopback reports whether addr listens on this computer only. An empty
// host ("":8787) listens on every address, so it is not.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

// loopbackHosts are the Host headers a browser on this computer sends.
func loopbackHosts(port int) []string {
	var hosts []string
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		hosts = append(hosts, fmt.Sprintf("%s:%d", h, port))
	}
	return hosts
}

// pageURL is the address to open in a browser on this computer.
func pageURL(listening string) string {
	host, port, _ := net.SplitHostPort(listening)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1" // every address: this computer is one of them
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
