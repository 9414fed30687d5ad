package bot

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/tsunagu-city/tsunagu/flows"
)

// maxMessages is how many messages LINE takes in one reply or push.
const maxMessages = 5

// errReplyToken means LINE refused the reply token (used, expired or unknown):
// the answer has to be pushed instead.
var errReplyToken = errors.New("reply token refused")

// StatusError is a LINE API answer that is not a success.
type StatusError struct {
	Op     string
	Status int
	// Message is LINE's error message (never resident data: LINE does not echo it).
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("line %s: status %d: %s", e.Op, e.Status, e.Message)
}

// lineError reads LINE's error body ({"message", "details": [{"message",
// "property"}]}) as one line: "message (property: message; …)". LINE names
// properties and rules there, never the values sent.
func lineError(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Details []struct {
			Message  string `json:"message"`
			Property string `json:"property"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return strings.TrimSpace(string(body))
	}
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.Property + ": " + d.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Permanent reports whether LINE refused for good, so that no retry will
// change it: a 4xx other than 409 (already accepted) and 429 (too many).
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusConflict && e.Status != http.StatusTooManyRequests
}

// temporary reports whether an error is worth retrying later: a network
// problem, 429 or 5xx.
func temporary(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status >= 500
	}
	return err != nil && !errors.Is(err, errReplyToken)
}

// LINEOptions configure NewLINE.
type LINEOptions struct {
	// Token is the channel access token.
	Token string
	// BaseURL is the Messaging API endpoint; LINE's when empty.
	BaseURL string
	// Senders bounds the calls in flight to LINE (64 when zero). The default
	// HTTP client keeps as many idle connections, so a busy moment does not
	// open new TCP (and TLS) connections.
	Senders int
	// HTTPClient is used for every call; when nil, a client with a 10s
	// timeout and Senders idle connections.
	HTTPClient *http.Client
	// Attempts bounds tries per call on 429/5xx/network errors (4 when zero).
	Attempts int
	// Backoff is the first retry delay, doubled each time, with full jitter
	// (300ms when zero).
	Backoff time.Duration
	// Log receives retries and give-ups, with the operation, LINE's status
	// and the key of the send (an event id); none when nil.
	Log *slog.Logger
	// Observer times every call; none when nil.
	Observer Observer
}

// LINE sends messages through the Messaging API. Requests go through the
// SDK's client (its endpoint, token and user agent); the bodies of replies
// and pushes, the hot path, are written by hand, which the profile showed
// costs a tenth of the SDK's reflection-based encoding.
type LINE struct {
	opt  LINEOptions
	api  *messaging_api.MessagingApiAPI
	sem  chan struct{}
	bufs sync.Pool
}

// NewLINE returns a sender; it fails when the token or URL is unusable.
func NewLINE(opt LINEOptions) (*LINE, error) {
	if opt.BaseURL == "" {
		opt.BaseURL = "https://api.line.me"
	}
	if opt.Senders <= 0 {
		opt.Senders = 64
	}
	if opt.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = opt.Senders
		tr.MaxIdleConnsPerHost = opt.Senders
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 4
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 300 * time.Millisecond
	}
	if opt.Log == nil {
		opt.Log = discard
	}
	if opt.Observer == nil {
		opt.Observer = nopObserver{}
	}
	// The client is shared and never given a context (WithContext would
	// change it for every caller): each request carries its own.
	api, err := messaging_api.NewMessagingApiAPI(opt.Token,
		messaging_api.WithEndpoint(opt.BaseURL), messaging_api.WithHTTPClient(opt.HTTPClient))
	if err != nil {
		return nil, fmt.Errorf("line client: %w", err)
	}
	return &LINE{opt: opt, api: api, sem: make(chan struct{}, opt.Senders),
		bufs: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}}, nil
}

// call posts body to path with bounded retries on temporary failures. ref
// names the send in the log (an event id or a staff-side key).
func (l *LINE) call(ctx context.Context, op, ref, path string, body []byte, retryKey string) error {
	var err error
	for attempt := 0; attempt < l.opt.Attempts; attempt++ {
		if attempt > 0 {
			d := l.opt.Backoff << (attempt - 1)
			d = time.Duration(rand.Int64N(int64(d))) + d/2
			l.opt.Log.Warn("line call failed; retrying", "op", op, "key", ref, "status", statusOf(err),
				"attempt", attempt, "retry_in", d.String(), "err", err)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("line %s: %w", op, ctx.Err())
			case <-t.C:
			}
		}
		err = l.post(ctx, op, path, body, retryKey)
		if err == nil || !temporary(err) {
			return err
		}
	}
	l.opt.Log.Warn("line call given up for now", "op", op, "key", ref, "status", statusOf(err),
		"attempts", l.opt.Attempts, "err", err)
	return err
}

// statusOf is LINE's status in err, 0 when LINE did not answer.
func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func (l *LINE) post(ctx context.Context, op, path string, body []byte, retryKey string) error {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("line %s: %w", op, ctx.Err())
	}
	defer func() { <-l.sem }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.api.Url(path), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("line %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	if retryKey != "" {
		req.Header.Set("X-Line-Retry-Key", retryKey)
	}
	start := time.Now()
	res, err := l.api.Do(req)
	if err != nil {
		l.opt.Observer.LINECall(op, 0, time.Since(start))
		return fmt.Errorf("line %s: %w", op, err)
	}
	l.opt.Observer.LINECall(op, res.StatusCode, time.Since(start))
	defer res.Body.Close()
	if res.StatusCode/100 == 2 {
		// Read to the end so that the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return &StatusError{Op: op, Status: res.StatusCode, Message: lineError(msg)}
}

// send encodes one request body in a pooled buffer and posts it.
func (l *LINE) send(ctx context.Context, op, ref, path, retryKey string, write func(b []byte) []byte) error {
	bp := l.bufs.Get().(*[]byte)
	body := write((*bp)[:0])
	err := l.call(ctx, op, ref, path, body, retryKey)
	// After a failure the transport may still be reading the body of a
	// connection it is closing: only a body that was sent goes back.
	if err == nil && cap(body) <= 64<<10 {
		*bp = body[:0]
		l.bufs.Put(bp)
	}
	return err
}

// reply answers with a reply token. errReplyToken means push instead.
func (l *LINE) reply(ctx context.Context, ref, token string, replies []flows.Reply) error {
	err := l.send(ctx, "reply", ref, "/v2/bot/message/reply", "", func(b []byte) []byte {
		b = append(b, `{"replyToken":`...)
		b = appendJSONString(b, token)
		b = append(b, `,"messages":`...)
		b = appendMessages(b, replies)
		return append(b, '}')
	})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(se.Message), "reply token") {
		return errReplyToken
	}
	return err
}

// push sends replies to a user, group or room. retryKey is a UUID: LINE
// accepts one request per key and answers 409 to a repeat, which means
// already sent.
func (l *LINE) push(ctx context.Context, to, ref, retryKey string, replies []flows.Reply) error {
	err := l.send(ctx, "push", ref, "/v2/bot/message/push", retryKey, func(b []byte) []byte {
		b = append(b, `{"to":`...)
		b = appendJSONString(b, to)
		b = append(b, `,"messages":`...)
		b = appendMessages(b, replies)
		return append(b, '}')
	})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict {
		return nil
	}
	return err
}

// Push sends texts to a resident, as the staff side does to relay staff
// words. key is any stable string naming this send (a Slack event, a
// check-in); the retry keys LINE sees are derived from it, so calling Push
// again with the same key after a crash does not send twice. A text longer
// than a LINE message is split at line or sentence breaks into up to five
// bubbles; cut is how much (in LINE's UTF-16 units) did not fit and was
// not sent, for the caller to say so.
func (l *LINE) Push(ctx context.Context, userID, key string, texts ...string) (cut int, err error) {
	var replies []flows.Reply
	for _, t := range texts {
		parts, c := Bubbles(t)
		cut += c
		for _, p := range parts {
			replies = append(replies, flows.Reply{Text: p})
		}
	}
	for i, chunk := range chunks(replies) {
		if err := l.push(ctx, userID, key, RetryKey(key, i), chunk); err != nil {
			return cut, err
		}
	}
	return cut, nil
}

// MaxText is how long a LINE text message may be, in UTF-16 code units as
// LINE counts them (an emoji outside the BMP is two).
const MaxText = 5000

// Bubbles splits text into at most maxMessages LINE text messages of at
// most MaxText UTF-16 units each, cutting at a line break, or else after a
// sentence, where it can. It returns what did not fit, in UTF-16 units.
func Bubbles(text string) (parts []string, cut int) {
	for text != "" {
		if len(parts) == maxMessages {
			return parts, UTF16Len(text)
		}
		if UTF16Len(text) <= MaxText {
			return append(parts, text), 0
		}
		head := truncate(text, MaxText)
		at := breakAt(head)
		parts = append(parts, strings.TrimRight(text[:at], "\n "))
		text = strings.TrimLeft(text[at:], "\n ")
	}
	return parts, 0
}

// breakAt is where to end a bubble taken from head: after its last line
// break, or its last sentence end, if that keeps at least half of it;
// else at its end.
func breakAt(head string) int {
	if i := strings.LastIndexByte(head, '\n'); i >= len(head)/2 {
		return i + 1
	}
	best := -1
	for _, end := range []string{"。", "！", "？", "! ", "? ", ". "} {
		if i := strings.LastIndex(head, end); i >= 0 && i+len(end) > best {
			best = i + len(end)
		}
	}
	if best >= len(head)/2 {
		return best
	}
	return len(head)
}

// Answer sends replies to one event: the first five with the reply token
// when there is one, and pushes (with retry keys derived from key) for the
// rest or when the token is refused.
func (l *LINE) Answer(ctx context.Context, to, replyToken, key string, replies []flows.Reply) error {
	for i, chunk := range chunks(replies) {
		if i == 0 && replyToken != "" {
			err := l.reply(ctx, key, replyToken, chunk)
			if err == nil {
				continue
			}
			if !errors.Is(err, errReplyToken) {
				return err
			}
		}
		if err := l.push(ctx, to, key, RetryKey(key, i), chunk); err != nil {
			return err
		}
	}
	return nil
}

// Leave leaves a group ("group") or room ("room"). Having left already is fine.
func (l *LINE) Leave(ctx context.Context, kind, id string) error {
	path := "/v2/bot/group/" + url.PathEscape(id) + "/leave"
	if kind == "room" {
		path = "/v2/bot/room/" + url.PathEscape(id) + "/leave"
	}
	err := l.call(ctx, "leave", "", path, nil, "")
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusBadRequest) {
		return nil
	}
	return err
}

// appendMessages writes replies as LINE text messages; quick replies become
// postback buttons whose displayText shows the label as the resident's
// words. LINE's limits are applied here, in UTF-16 units as LINE counts
// them: 5000 of text, 13 buttons, 20 of label, 300 of data and display text.
func appendMessages(b []byte, replies []flows.Reply) []byte {
	b = append(b, '[')
	for i, r := range replies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"text","text":`...)
		b = appendJSONString(b, truncate(r.Text, MaxText))
		if len(r.QuickReplies) > 0 {
			b = append(b, `,"quickReply":{"items":[`...)
			for j, c := range r.QuickReplies {
				if j == 13 {
					break
				}
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"type":"action","action":{"type":"postback","label":`...)
				b = appendJSONString(b, truncate(c.Label, 20))
				b = append(b, `,"data":`...)
				b = appendJSONString(b, truncate(c.Data, 300))
				b = append(b, `,"displayText":`...)
				b = appendJSONString(b, truncate(c.Label, 300))
				b = append(b, "}}"...)
			}
			b = append(b, "]}"...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string, as encoding/json would:
// quotes, backslashes and control characters escaped, invalid UTF-8
// replaced, and U+2028/U+2029 escaped for JavaScript readers.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func chunks(replies []flows.Reply) [][]flows.Reply {
	var out [][]flows.Reply
	for len(replies) > maxMessages {
		out = append(out, replies[:maxMessages])
		replies = replies[maxMessages:]
	}
	if len(replies) > 0 {
		out = append(out, replies)
	}
	return out
}

// UTF16Len is the length of s as LINE counts it: in UTF-16 code units,
// so that a character outside the BMP (most emoji) counts two.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate cuts s to at most n UTF-16 units, LINE's measure, never inside
// a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}

// retryNamespace is the UUIDv5 namespace of tsunagu's retry keys.
var retryNamespace = [16]byte{0x6b, 0x3c, 0x1e, 0x52, 0x8f, 0x0a, 0x4d, 0x1b, 0x9a, 0x55, 0x21, 0x7e, 0x03, 0xc4, 0x77, 0xd0}

// RetryKey is the X-Line-Retry-Key for the n-th push made for key: a
// name-based (version 5) UUID, the same every time it is computed.
func RetryKey(key string, n int) string {
	h := sha1.New()
	h.Write(retryNamespace[:])
	h.Write([]byte(key))
	h.Write([]byte("#" + strconv.Itoa(n)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:16])
	return string(out[:])
}
