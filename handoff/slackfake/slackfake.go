// Package slackfake is a fake of the few Slack Web API methods tsunagu uses,
// written from Slack's OpenAPI description (chat.postMessage, chat.update,
// chat.getPermalink, auth.test, reactions.add, users.info). It keeps the
// messages it was sent so a test can read a card as staff would see it,
// records every request, and can answer 429 with Retry-After on demand.
// When the test ends, every call it recorded is checked against Slack's Web
// API description and Block Kit's limits (package contract).
package slackfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/contract"
)

// BotUserID is the user id auth.test answers for the bot.
const BotUserID = "UBOT0001"

// Team is the fake workspace's domain, used in permalinks.
const Team = "tsunagu-city"

// Call is one recorded request.
type Call struct {
	// Method is the Web API method ("chat.postMessage").
	Method string
	// Form holds the query and form parameters.
	Form url.Values
	// Body is the raw request body as sent.
	Body string
	// Header is the request's headers.
	Header http.Header
	// At is when the request arrived.
	At time.Time
	// Limited is set when the fake answered 429.
	Limited bool
}

// Message is a message as it stands in the fake workspace, after updates.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	// User is the author of an injected message, the bot's id otherwise.
	User string
	// Blocks is the raw JSON of the blocks, "" when none.
	Blocks string
	// Updates counts chat.update calls on the message.
	Updates int
}

// User is a workspace member known to users.info.
type User struct {
	ID          string
	DisplayName string
	RealName    string
}

// Server is a running fake Slack Web API.
type Server struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	calls    []Call
	msgs     map[string]*Message // channel + "/" + ts
	order    []string
	channels map[string]string // name -> id
	users    map[string]User
	limits   map[string]int    // method -> 429s still to answer
	fails    map[string]string // method -> Slack error code to answer
	retry    int
	seq      int
	// pace, when set, is the least time between two posts to one channel,
	// as Slack enforces it: a faster post is answered 429.
	pace     time.Duration
	lastPost map[string]time.Time
	// noLinks makes chat.getPermalink answer ok with an empty link.
	noLinks bool
	// unchecked skips the contract check.
	unchecked bool
}

// New starts a fake that accepts token; it is closed when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := Start(token)
	t.Cleanup(s.Close)
	t.Cleanup(func() { s.checkContract(t) })
	return s
}

// Unchecked turns the contract check off, for a test whose calls break
// Slack's rules on purpose.
func (s *Server) Unchecked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unchecked = true
}

// checkContract checks every recorded call against Slack's Web API
// description and Block Kit's limits.
func (s *Server) checkContract(t testing.TB) {
	s.mu.Lock()
	calls, skip := s.calls, s.unchecked
	s.mu.Unlock()
	if skip || len(calls) == 0 {
		return
	}
	_, spec, err := contract.Load()
	if errors.Is(err, contract.ErrNoSpecs) {
		t.Log("Slack calls not checked against the spec:", err)
		return
	}
	if err != nil {
		t.Errorf("Slack spec: %v", err)
		return
	}
	for i, c := range calls {
		if err := spec.Check(c.Method, c.Header, c.Form); err != nil {
			t.Errorf("Slack call %d breaks the Web API contract: %v", i, err)
		}
	}
}

// Start starts a fake that accepts token on a loopback port, for programs
// that are not tests (the benchmark); Close stops it.
func Start(token string) *Server {
	s := &Server{
		token:    token,
		msgs:     map[string]*Message{},
		channels: map[string]string{},
		users:    map[string]User{},
		limits:   map[string]int{},
		fails:    map[string]string{},
		retry:    1,
		lastPost: map[string]time.Time{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// PacePosts makes the fake refuse, with 429 and Retry-After, a post to a
// channel that comes less than d after the previous one, as Slack does
// (about one message per second per channel).
func (s *Server) PacePosts(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pace = d
}

// EmptyPermalinks makes chat.getPermalink answer ok without a link, as
// Slack has been seen to.
func (s *Server) EmptyPermalinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noLinks = true
}

// APIURL is the base URL for slack.OptionAPIURL (it ends in "/").
func (s *Server) APIURL() string { return s.srv.URL + "/" }

// AddUser makes a user known to users.info.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// ChannelID is the id the fake gives a channel name ("#soudan" or "soudan");
// a name that already looks like an id ("C…") is its own id.
func (s *Server) ChannelID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelID(name)
}

func (s *Server) channelID(name string) string {
	name = strings.TrimPrefix(name, "#")
	if looksLikeID(name) {
		return name
	}
	if id, ok := s.channels[name]; ok {
		return id
	}
	id := fmt.Sprintf("C%07d", len(s.channels)+1)
	s.channels[name] = id
	return id
}

func looksLikeID(s string) bool {
	if len(s) < 8 || (s[0] != 'C' && s[0] != 'G' && s[0] != 'D') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// RateLimit makes the next n calls of method answer 429 with Retry-After
// retryAfter seconds, as Slack does when an app posts too fast.
func (s *Server) RateLimit(method string, n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = n
	s.retry = retryAfter
}

// Fail makes method answer ok:false with Slack's error code ("invalid_auth",
// "token_revoked") until Fail is called again with code "".
func (s *Server) Fail(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.fails, method)
		return
	}
	s.fails[method] = code
}

// Calls returns the recorded requests of one method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages posted so far, in posting order, as they
// stand now.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.msgs[k])
	}
	return out
}

// Message returns one message as it stands now.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[channel+"/"+ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Thread returns the replies in a thread, oldest first.
func (s *Server) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.Channel == channel && m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// Inject adds a message a person wrote (in a thread when threadTS is set),
// as the Events API would report it, so that later calls can refer to it.
func (s *Server) Inject(channel, threadTS, ts, user, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.channelID(channel)
	s.msgs[id+"/"+ts] = &Message{Channel: id, TS: ts, ThreadTS: threadTS, Text: text, User: user}
	s.order = append(s.order, id+"/"+ts)
}

// Wait polls until cond holds or the timeout passes; it reports whether cond held.
func (s *Server) Wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	method := strings.TrimPrefix(r.URL.Path, "/")
	form := url.Values{}
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range v {
				form[k] = append(form[k], vs...)
			}
		}
	}
	s.mu.Lock()
	call := Call{Method: method, Form: form, Body: string(body), Header: r.Header.Clone(), At: time.Now()}
	if n := s.limits[method]; n > 0 {
		s.limits[method] = n - 1
		call.Limited = true
		s.calls = append(s.calls, call)
		retry := s.retry
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if method == "chat.postMessage" && s.pace > 0 {
		ch := s.channelID(form.Get("channel"))
		if wait := s.lastPost[ch].Add(s.pace).Sub(call.At); wait > 0 {
			call.Limited = true
			s.calls = append(s.calls, call)
			s.mu.Unlock()
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			w.WriteHeader(http.StatusTooManyRequests)
			writeJSON(w, map[string]any{"ok": false, "error": "ratelimited"})
			return
		}
		s.lastPost[ch] = call.At
	}
	s.calls = append(s.calls, call)
	failWith := s.fails[method]
	s.mu.Unlock()
	if failWith != "" {
		writeJSON(w, map[string]any{"ok": false, "error": failWith})
		return
	}

	tok := form.Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		tok = strings.TrimPrefix(h, "Bearer ")
	}
	if tok != s.token {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "url": "https://" + Team + ".slack.com/",
			"team": "Tsunagu City", "user": "tsunagu", "team_id": "T0000001",
			"user_id": BotUserID, "bot_id": "B0000001"})
	case "chat.postMessage":
		s.postMessage(w, form)
	case "chat.update":
		s.update(w, form)
	case "chat.getPermalink":
		s.permalink(w, form)
	case "reactions.add":
		s.mu.Lock()
		_, ok := s.msgs[form.Get("channel")+"/"+form.Get("timestamp")]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true})
	case "users.info":
		s.mu.Lock()
		u, ok := s.users[form.Get("user")]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
			"id": u.ID, "name": strings.ToLower(u.RealName), "real_name": u.RealName,
			"profile": map[string]any{"display_name": u.DisplayName, "real_name": u.RealName},
		}})
	default:
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) postMessage(w http.ResponseWriter, form url.Values) {
	ch := form.Get("channel")
	if ch == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	if form.Get("text") == "" && form.Get("blocks") == "" && form.Get("attachments") == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	s.mu.Lock()
	id := s.channelID(ch)
	thread := form.Get("thread_ts")
	if thread != "" {
		if _, ok := s.msgs[id+"/"+thread]; !ok {
			s.mu.Unlock()
			writeJSON(w, map[string]any{"ok": false, "error": "thread_not_found"})
			return
		}
	}
	s.seq++
	ts := fmt.Sprintf("1700000000.%06d", s.seq)
	m := &Message{Channel: id, TS: ts, ThreadTS: thread, Text: form.Get("text"), Blocks: form.Get("blocks"), User: BotUserID}
	s.msgs[id+"/"+ts] = m
	s.order = append(s.order, id+"/"+ts)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": id, "ts": ts,
		"message": map[string]any{"type": "message", "text": m.Text, "ts": ts, "thread_ts": thread, "user": BotUserID, "bot_id": "B0000001"}})
}

func (s *Server) update(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	id := s.channelID(form.Get("channel"))
	m, ok := s.msgs[id+"/"+form.Get("ts")]
	if !ok {
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	m.Text = form.Get("text")
	m.Blocks = form.Get("blocks")
	m.Updates++
	text := m.Text
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": id, "ts": form.Get("ts"), "text": text,
		"message": map[string]any{"type": "message", "text": text}})
}

func (s *Server) permalink(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	id := s.channelID(form.Get("channel"))
	ts := form.Get("message_ts")
	_, ok := s.msgs[id+"/"+ts]
	noLinks := s.noLinks
	s.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	if noLinks {
		writeJSON(w, map[string]any{"ok": true, "channel": id, "permalink": ""})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": id,
		"permalink": "https://" + Team + ".slack.com/archives/" + id + "/p" + strings.ReplaceAll(ts, ".", "")})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
