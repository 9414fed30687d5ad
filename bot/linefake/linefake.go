// Package linefake is a fake LINE Messaging API for tests, written from
// LINE's messaging-api.yml: reply, push (with X-Line-Retry-Key), leave,
// loading and the default rich menu (create, image, set, delete). It
// records every call and can be told to fail. When the test ends, every
// call it recorded is checked against LINE's OpenAPI document (package
// contract): a request LINE would not accept fails the test.
package linefake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tsunagu-city/tsunagu/contract"
)

// Token is the channel access token the fake accepts.
const Token = "fake-channel-token"

// Paths of the endpoints the fake serves.
const (
	PathReply   = "/v2/bot/message/reply"
	PathPush    = "/v2/bot/message/push"
	PathLoading = "/v2/bot/chat/loading/start"
)

// Message is one message as the fake understood it.
type Message struct {
	Type string
	Text string
	// Buttons are the quick-reply buttons: label, postback data and display text.
	Buttons []Button
}

// Button is one quick-reply button.
type Button struct {
	Type, Label, Data, DisplayText string
}

// Call is one request the fake received and what it answered.
type Call struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Status       int
	// At is when the fake received it.
	At time.Time
	// Parsed from the body when it applies.
	ReplyToken string
	To         string
	RetryKey   string
	Messages   []Message
}

// Texts are the texts of the call's messages.
func (c Call) Texts() []string {
	var out []string
	for _, m := range c.Messages {
		out = append(out, m.Text)
	}
	return out
}

// Server is the fake; it is an httptest.Server closed at test cleanup.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	calls    []Call
	fail     map[string][]int
	failTok  map[string][]int // by reply token
	used     map[string]bool  // reply tokens used or expired
	accepted map[string]bool  // retry keys of accepted pushes
	light    bool
	// unchecked skips the contract check, for a test that sends bad
	// requests on purpose.
	unchecked bool

	menus       map[string]*RichMenu
	menuOrder   []string
	menuSeq     int
	defaultMenu string
}

// Light makes the fake keep only what identifies each call (path, status,
// reply token, recipient, retry key), not its headers, body or messages:
// for tests that send tens of thousands of answers.
func (s *Server) Light() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.light = true
}

// New starts a fake LINE API.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{fail: map[string][]int{}, used: map[string]bool{}, accepted: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	t.Cleanup(func() { s.checkContract(t) })
	return s
}

// Unchecked turns the contract check off, for a test whose requests break
// LINE's rules on purpose.
func (s *Server) Unchecked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unchecked = true
}

// checkContract checks every recorded call against LINE's OpenAPI document
// and documented limits; a light fake keeps no bodies and is not checked.
func (s *Server) checkContract(t testing.TB) {
	s.mu.Lock()
	calls, skip := s.calls, s.light || s.unchecked
	s.mu.Unlock()
	if skip || len(calls) == 0 {
		return
	}
	spec, _, err := contract.Load()
	if errors.Is(err, contract.ErrNoSpecs) {
		t.Log("LINE calls not checked against the spec:", err)
		return
	}
	if err != nil {
		t.Errorf("LINE spec: %v", err)
		return
	}
	for i, c := range calls {
		if err := spec.Check(c.Method, c.Path, c.Header, c.Body); err != nil {
			t.Errorf("LINE call %d breaks the Messaging API contract: %v", i, err)
		}
	}
}

// Fail makes the next calls to path answer the given statuses, in order.
func (s *Server) Fail(path string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = append(s.fail[path], statuses...)
}

// FailReply makes the next replies with one reply token answer the given
// statuses, in order: LINE failing for one resident only.
func (s *Server) FailReply(token string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failTok == nil {
		s.failTok = map[string][]int{}
	}
	s.failTok[token] = append(s.failTok[token], statuses...)
}

// Expire makes a reply token unusable, as LINE does after about a minute.
func (s *Server) Expire(replyToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used[replyToken] = true
}

// Calls returns every call to path ("" for all), in order.
func (s *Server) Calls(path string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if path == "" || c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// Sent returns the successful reply and push calls, in order.
func (s *Server) Sent() []Call {
	var out []Call
	for _, c := range s.Calls("") {
		if (c.Path == PathReply || c.Path == PathPush) && c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

var (
	uuidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	leaveRe = regexp.MustCompile(`^/v2/bot/(group|room)/[^/]+/leave$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := Call{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	status, answer := s.handle(r, &c)
	c.Status = status
	s.mu.Lock()
	if s.light {
		c.Header, c.Body, c.Messages = nil, nil, nil
	}
	s.calls = append(s.calls, c)
	n := len(s.calls)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Line-Request-Id", fmt.Sprintf("req-%d", n))
	if status == http.StatusConflict {
		w.Header().Set("X-Line-Accepted-Request-Id", "accepted-earlier")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

type errorResponse struct {
	Message string   `json:"message"`
	Details []detail `json:"details,omitempty"`
}

type detail struct {
	Message  string `json:"message"`
	Property string `json:"property"`
}

func fail(msg string, details ...detail) errorResponse {
	return errorResponse{Message: msg, Details: details}
}

func (s *Server) handle(r *http.Request, c *Call) (int, any) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		return http.StatusUnauthorized, fail("Authentication failed. Confirm that the access token in the authorization header is valid.")
	}
	s.mu.Lock()
	if q := s.fail[c.Path]; len(q) > 0 {
		s.fail[c.Path] = q[1:]
		s.mu.Unlock()
		return q[0], fail(http.StatusText(q[0]))
	}
	s.mu.Unlock()
	if status, answer, ok := s.richMenu(r, c); ok {
		return status, answer
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, fail("Method not allowed")
	}

	switch {
	case c.Path == PathReply:
		var req struct {
			ReplyToken string            `json:"replyToken"`
			Messages   []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(c.Body, &req); err != nil {
			return http.StatusBadRequest, fail("The request body has 1 error(s)")
		}
		c.ReplyToken = req.ReplyToken
		msgs, d := parseMessages(req.Messages)
		c.Messages = msgs
		if req.ReplyToken == "" {
			d = append(d, detail{"May not be empty", "replyToken"})
		}
		if len(d) > 0 {
			return http.StatusBadRequest, fail("The request body has errors", d...)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if q := s.failTok[req.ReplyToken]; len(q) > 0 {
			s.failTok[req.ReplyToken] = q[1:]
			return q[0], fail(http.StatusText(q[0]))
		}
		if s.used[req.ReplyToken] {
			return http.StatusBadRequest, fail("Invalid reply token")
		}
		s.used[req.ReplyToken] = true
		return http.StatusOK, map[string]any{"sentMessages": sent(len(msgs))}
	case c.Path == PathPush:
		var req struct {
			To       string            `json:"to"`
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(c.Body, &req); err != nil {
			return http.StatusBadRequest, fail("The request body has 1 error(s)")
		}
		c.To = req.To
		c.RetryKey = r.Header.Get("X-Line-Retry-Key")
		msgs, d := parseMessages(req.Messages)
		c.Messages = msgs
		if req.To == "" {
			d = append(d, detail{"May not be empty", "to"})
		}
		if c.RetryKey != "" && !uuidRe.MatchString(c.RetryKey) {
			return http.StatusBadRequest, fail("The value for the 'X-Line-Retry-Key' header is invalid")
		}
		if len(d) > 0 {
			return http.StatusBadRequest, fail("The request body has errors", d...)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.RetryKey != "" {
			if s.accepted[c.RetryKey] {
				return http.StatusConflict, fail("The retry key is already accepted")
			}
			s.accepted[c.RetryKey] = true
		}
		return http.StatusOK, map[string]any{"sentMessages": sent(len(msgs))}
	case leaveRe.MatchString(c.Path):
		return http.StatusOK, map[string]any{}
	case c.Path == PathLoading:
		return http.StatusAccepted, map[string]any{}
	}
	return http.StatusNotFound, fail("Not found")
}

func sent(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"id": fmt.Sprint(1000 + i)}
	}
	return out
}

// parseMessages checks messages as LINE does for what tsunagu sends (text
// with quick replies) and reports problems as LINE's error details.
func parseMessages(raw []json.RawMessage) ([]Message, []detail) {
	var d []detail
	if len(raw) < 1 || len(raw) > 5 {
		d = append(d, detail{"Size must be between 1 and 5", "messages"})
	}
	var out []Message
	for i, rm := range raw {
		var m struct {
			Type       string `json:"type"`
			Text       string `json:"text"`
			QuickReply *struct {
				Items []struct {
					Type   string `json:"type"`
					Action struct {
						Type        string `json:"type"`
						Label       string `json:"label"`
						Data        string `json:"data"`
						DisplayText string `json:"displayText"`
					} `json:"action"`
				} `json:"items"`
			} `json:"quickReply"`
		}
		p := fmt.Sprintf("messages[%d]", i)
		if err := json.Unmarshal(rm, &m); err != nil {
			d = append(d, detail{"Invalid message", p})
			continue
		}
		msg := Message{Type: m.Type, Text: m.Text}
		if m.Type != "text" {
			d = append(d, detail{"Must be one of the following values: [text, image, video, audio, location, sticker, template, imagemap, flex]", p + ".type"})
		}
		if strings.TrimSpace(m.Text) == "" || utf16Len(m.Text) > 5000 {
			d = append(d, detail{"Length must be between 1 and 5000", p + ".text"})
		}
		if m.QuickReply != nil {
			if len(m.QuickReply.Items) > 13 {
				d = append(d, detail{"Size must be between 1 and 13", p + ".quickReply.items"})
			}
			for j, it := range m.QuickReply.Items {
				q := fmt.Sprintf("%s.quickReply.items[%d]", p, j)
				if it.Type != "action" {
					d = append(d, detail{"Must be action", q + ".type"})
				}
				a := it.Action
				if a.Type != "postback" && a.Type != "message" {
					d = append(d, detail{"Invalid action type", q + ".action.type"})
				}
				if n := utf16Len(a.Label); n < 1 || n > 20 {
					d = append(d, detail{"Length must be between 1 and 20", q + ".action.label"})
				}
				if a.Type == "postback" && (a.Data == "" || utf16Len(a.Data) > 300) {
					d = append(d, detail{"Length must be between 1 and 300", q + ".action.data"})
				}
				msg.Buttons = append(msg.Buttons, Button{Type: a.Type, Label: a.Label, Data: a.Data, DisplayText: a.DisplayText})
			}
		}
		out = append(out, msg)
	}
	return out, d
}

// utf16Len is a length as LINE counts it, in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
