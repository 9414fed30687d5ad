package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The edge: what stalled, slow or idle clients can make serve hold.

// stalledUploads opens n connections that each declare a 1 MiB body, send
// 64 KiB of it and stall, as a forger who knows only the header name
// would. It samples serve's memory while they hold on, and counts those
// refused at once (503) for want of body budget.
func stalledUploads(addr string, n int, pid int, hold time.Duration) (refused int, peakRSS int64, err error) {
	chunk := strings.Repeat("x", 64<<10)
	conns, err := dialEach(addr, n, func(c net.Conn) error {
		// A write serve cuts short is what is measured, not a failure.
		fmt.Fprintf(c, "POST /webhook/line HTTP/1.1\r\nHost: bench\r\nX-Line-Signature: forged\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", 1<<20, chunk)
		return nil
	})
	defer closeAll(conns)
	if err != nil {
		return 0, 0, err
	}
	var nref atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(hold))
			if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && res.StatusCode == http.StatusServiceUnavailable {
				nref.Add(1)
			}
		})
	}
	end := time.Now().Add(hold)
	for time.Now().Before(end) {
		if now, _ := rss(pid); now > peakRSS {
			peakRSS = now
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	return int(nref.Load()), peakRSS, nil
}

// closedBy reports whether the server closed c within d.
func closedBy(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// idleConnections makes n keep-alive requests and counts the connections
// serve closes within wait.
func idleConnections(addr string, n int, wait time.Duration) (closed int, err error) {
	conns, err := dialEach(addr, n, func(c net.Conn) error {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return nil
	})
	defer closeAll(conns)
	if err != nil {
		return 0, err
	}
	return countClosed(conns, wait), nil
}

// slowBodies starts n uploads that send a few bytes of body and stop, and
// counts the connections serve cuts within wait.
func slowBodies(addr string, n int, wait time.Duration) (cut int, err error) {
	conns, err := dialEach(addr, n, func(c net.Conn) error {
		fmt.Fprintf(c, "POST /webhook/line HTTP/1.1\r\nHost: bench\r\nX-Line-Signature: s\r\nContent-Length: 4000\r\n\r\n{\"events\":")
		return nil
	})
	defer closeAll(conns)
	if err != nil {
		return 0, err
	}
	return countClosed(conns, wait), nil
}

// dialEach opens n connections to addr, calling start on each as it opens.
// It returns those opened so far with the first error; the caller closes
// them all (closeAll).
func dialEach(addr string, n int, start func(net.Conn) error) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return conns, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
		if err := start(c); err != nil {
			return conns, err
		}
	}
	return conns, nil
}

// closeAll closes every connection.
func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func countClosed(conns []net.Conn, wait time.Duration) int {
	var n atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if closedBy(c, wait) {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}
