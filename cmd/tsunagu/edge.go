package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// The HTTP edge: every request body is read here, before any handler sees
// it, through a bounded pool. A request without its signature headers is
// refused before a byte of its body is read; one that declares more than
// maxBody is refused too; and the bodies being read at once may together
// hold at most the budget, past which a request is answered 503 (LINE and
// Slack deliver it again). With the server's ReadTimeout, that bounds what
// stalled or slow clients can make the process hold.

// maxBody is the largest request body taken: LINE's and Slack's are a few
// kilobytes.
const maxBody = 1 << 20

// bodyPool lends buffers for request bodies and keeps count of the bytes
// lent.
type bodyPool struct {
	budget int64
	inUse  atomic.Int64
	// Refused counts requests answered 503 because the budget was spent.
	refused atomic.Int64
	small   sync.Pool // 8 KiB buffers: LINE's and Slack's bodies
	large   sync.Pool // maxBody buffers
}

func newBodyPool(budget int64) *bodyPool {
	return &bodyPool{
		budget: budget,
		small:  sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }},
		large:  sync.Pool{New: func() any { b := make([]byte, maxBody); return &b }},
	}
}

// take reserves n bytes of the budget and lends a buffer of at least n
// bytes; ok is false when the budget cannot cover n now.
func (p *bodyPool) take(n int64) (*[]byte, bool) {
	if p.inUse.Add(n) > p.budget {
		p.inUse.Add(-n)
		p.refused.Add(1)
		return nil, false
	}
	if n <= 8<<10 {
		return p.small.Get().(*[]byte), true
	}
	return p.large.Get().(*[]byte), true
}

// give returns a buffer and its reservation.
func (p *bodyPool) give(b *[]byte, n int64) {
	p.inUse.Add(-n)
	if len(*b) == maxBody {
		p.large.Put(b)
	} else {
		p.small.Put(b)
	}
}

// memBody is a request body already read into memory. Handlers may use its
// bytes without copying them (bot.Body); they are valid until the handler
// returns.
type memBody struct {
	*bytes.Reader
	b []byte
}

func (m *memBody) Bytes() []byte { return m.b }
func (m *memBody) Close() error  { return nil }

// signedOnly serves next only requests that carry every one of the given
// signature headers, with their body read through pool.
func signedOnly(pool *bodyPool, next http.Handler, headers ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headers {
			if r.Header.Get(h) == "" {
				refuse(w, http.StatusUnauthorized, "missing "+h)
				return
			}
		}
		n := r.ContentLength
		if n > maxBody {
			refuse(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		if n < 0 {
			n = maxBody // unknown length: reserve the most it may be
		}
		buf, ok := pool.take(n)
		if !ok {
			w.Header().Set("Retry-After", "1")
			refuse(w, http.StatusServiceUnavailable, "busy, try again")
			return
		}
		defer pool.give(buf, n)
		body, err := readInto((*buf)[:n], r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				refuse(w, http.StatusRequestEntityTooLarge, "body too large")
				return
			}
			refuse(w, http.StatusBadRequest, "cannot read body")
			return
		}
		r.Body = &memBody{Reader: bytes.NewReader(body), b: body}
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// readInto reads the whole body into buf, which is as long as the most the
// body may be; a longer body is an error.
func readInto(buf []byte, body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	n, err := io.ReadFull(body, buf)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	var one [1]byte
	if m, _ := body.Read(one[:]); m > 0 {
		return nil, &http.MaxBytesError{Limit: int64(len(buf))}
	}
	return buf[:n], nil
}

// refuse answers without reading the body and closes the connection, so
// that the server does not read the body either to keep it alive.
func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}
