package main

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fakeLINE is a lean fake of LINE's reply and push endpoints for the
// benchmark: it checks what LINE checks that matters here (the token, a
// reply token used once, a retry key accepted once) and reports each
// answer as it arrives, without keeping the bodies.
type fakeLINE struct {
	token string
	srv   *http.Server
	url   string

	shards [16]struct {
		sync.Mutex
		used     map[string]bool // reply tokens
		accepted map[string]bool // retry keys
	}
	replies, pushes, badTokens, repeats atomic.Int64

	// onReply is told of each accepted reply; onPush of each accepted push.
	onReply func(token string, at time.Time, body []byte)
	onPush  func(to string, at time.Time, body []byte)
}

func startLINE(token string) (*fakeLINE, error) {
	f := &fakeLINE{token: token}
	for i := range f.shards {
		f.shards[i].used = map[string]bool{}
		f.shards[i].accepted = map[string]bool{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{Handler: f}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeLINE) close() { _ = f.srv.Close() }

func (f *fakeLINE) shard(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(f.shards)))
}

// once records key in one of the maps; it reports false when it was there.
func (f *fakeLINE) once(key string, reply bool) bool {
	s := &f.shards[f.shard(key)]
	s.Lock()
	defer s.Unlock()
	m := s.accepted
	if reply {
		m = s.used
	}
	if m[key] {
		return false
	}
	m[key] = true
	return true
}

var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// field reads a top-level string field the way tsunagu writes it; enough
// for the fake, which only needs the reply token or the recipient.
func field(body []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(body, key)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

func (f *fakeLINE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp := bodies.Get().(*[]byte)
	defer bodies.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	_, _ = io.Copy(buf, r.Body)
	body := buf.Bytes()
	*bp = body[:0]
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		answer(w, http.StatusUnauthorized, `{"message":"Authentication failed"}`)
		return
	}
	now := time.Now()
	switch {
	case r.URL.Path == "/v2/bot/message/reply":
		tok := field(body, "replyToken")
		if tok == "" || !json.Valid(body) {
			answer(w, http.StatusBadRequest, `{"message":"The request body has 1 error(s)"}`)
			return
		}
		if !f.once(tok, true) {
			f.badTokens.Add(1)
			answer(w, http.StatusBadRequest, `{"message":"Invalid reply token"}`)
			return
		}
		f.replies.Add(1)
		if f.onReply != nil {
			f.onReply(tok, now, body)
		}
		answer(w, http.StatusOK, `{"sentMessages":[{"id":"1","quoteToken":"q"}]}`)
	case r.URL.Path == "/v2/bot/message/push":
		to, key := field(body, "to"), r.Header.Get("X-Line-Retry-Key")
		if to == "" || !json.Valid(body) {
			answer(w, http.StatusBadRequest, `{"message":"The request body has 1 error(s)"}`)
			return
		}
		if key != "" && !f.once(key, false) {
			f.repeats.Add(1)
			answer(w, http.StatusConflict, `{"message":"The retry key is already accepted"}`)
			return
		}
		f.pushes.Add(1)
		if f.onPush != nil {
			f.onPush(to, now, body)
		}
		answer(w, http.StatusOK, `{"sentMessages":[{"id":"1","quoteToken":"q"}]}`)
	case strings.HasSuffix(r.URL.Path, "/leave"):
		answer(w, http.StatusOK, `{}`)
	default:
		answer(w, http.StatusNotFound, `{"message":"Not found"}`)
	}
}

func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}
