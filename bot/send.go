package bot

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
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
	// HTTPClient is used for every call; a client with a 10s timeout when nil.
	HTTPClient *http.Client
	// Attempts bounds tries per call on 429/5xx/network errors (4 when zero).
	Attempts int
	// Backoff is the first retry delay, doubled each time, with full jitter
	// (300ms when zero).
	Backoff time.Duration
}

// LINE sends messages through the Messaging API with the SDK.
type LINE struct {
	opt LINEOptions
}

// NewLINE returns a sender; it fails when the token or URL is unusable.
func NewLINE(opt LINEOptions) (*LINE, error) {
	if opt.BaseURL == "" {
		opt.BaseURL = "https://api.line.me"
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 4
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 300 * time.Millisecond
	}
	l := &LINE{opt: opt}
	if _, err := l.api(context.Background()); err != nil {
		return nil, err
	}
	return l, nil
}

// api returns a client bound to ctx. The SDK keeps the context inside the
// client (WithContext mutates it), so a shared client would race: one per call.
func (l *LINE) api(ctx context.Context) (*messaging_api.MessagingApiAPI, error) {
	c, err := messaging_api.NewMessagingApiAPI(l.opt.Token,
		messaging_api.WithEndpoint(l.opt.BaseURL), messaging_api.WithHTTPClient(l.opt.HTTPClient))
	if err != nil {
		return nil, fmt.Errorf("line client: %w", err)
	}
	return c.WithContext(ctx), nil
}

// call runs fn with bounded retries on temporary failures.
func (l *LINE) call(ctx context.Context, op string, fn func(*messaging_api.MessagingApiAPI) (*http.Response, error)) error {
	var err error
	for attempt := 0; attempt < l.opt.Attempts; attempt++ {
		if attempt > 0 {
			d := l.opt.Backoff << (attempt - 1)
			d = time.Duration(rand.Int64N(int64(d))) + d/2
			select {
			case <-ctx.Done():
				return fmt.Errorf("line %s: %w", op, ctx.Err())
			case <-time.After(d):
			}
		}
		var api *messaging_api.MessagingApiAPI
		if api, err = l.api(ctx); err != nil {
			return err
		}
		res, cerr := fn(api)
		err = statusErr(op, res, cerr)
		if err == nil || !temporary(err) {
			return err
		}
	}
	return err
}

// statusErr turns the SDK's answer into nil, a *StatusError or a network error.
func statusErr(op string, res *http.Response, err error) error {
	if res == nil {
		if err == nil {
			return nil
		}
		return fmt.Errorf("line %s: %w", op, err)
	}
	if res.Body != nil {
		defer res.Body.Close()
	}
	if res.StatusCode/100 == 2 {
		return nil
	}
	msg := ""
	if res.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		msg = string(b)
	}
	return &StatusError{Op: op, Status: res.StatusCode, Message: msg}
}

// Reply answers with a reply token. errReplyToken means push instead.
func (l *LINE) reply(ctx context.Context, token string, msgs []messaging_api.MessageInterface) error {
	err := l.call(ctx, "reply", func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		res, _, err := api.ReplyMessageWithHttpInfo(&messaging_api.ReplyMessageRequest{ReplyToken: token, Messages: msgs})
		return res, err
	})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(se.Message), "reply token") {
		return errReplyToken
	}
	return err
}

// push sends msgs to a user, group or room. retryKey is a UUID: LINE accepts
// one request per key and answers 409 to a repeat, which means already sent.
func (l *LINE) push(ctx context.Context, to, retryKey string, msgs []messaging_api.MessageInterface) error {
	err := l.call(ctx, "push", func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		res, _, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: to, Messages: msgs}, retryKey)
		return res, err
	})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict {
		return nil
	}
	return err
}

// Push sends texts to a resident, as the staff side does to relay staff
// words. key is any stable string naming this send (a Slack message ts, a
// case event); the retry keys LINE sees are derived from it, so calling Push
// again with the same key after a crash does not send twice.
func (l *LINE) Push(ctx context.Context, userID, key string, texts ...string) error {
	replies := make([]flows.Reply, len(texts))
	for i, t := range texts {
		replies[i] = flows.Reply{Text: t}
	}
	for i, chunk := range chunks(messages(replies)) {
		if err := l.push(ctx, userID, RetryKey(key, i), chunk); err != nil {
			return err
		}
	}
	return nil
}

// Answer sends replies to one event: the first five with the reply token
// when there is one, and pushes (with retry keys derived from key) for the
// rest or when the token is refused.
func (l *LINE) Answer(ctx context.Context, to, replyToken, key string, replies []flows.Reply) error {
	for i, chunk := range chunks(messages(replies)) {
		if i == 0 && replyToken != "" {
			err := l.reply(ctx, replyToken, chunk)
			if err == nil {
				continue
			}
			if !errors.Is(err, errReplyToken) {
				return err
			}
		}
		if err := l.push(ctx, to, RetryKey(key, i), chunk); err != nil {
			return err
		}
	}
	return nil
}

// Leave leaves a group ("group") or room ("room"). Having left already is fine.
func (l *LINE) Leave(ctx context.Context, kind, id string) error {
	err := l.call(ctx, "leave", func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		if kind == "room" {
			res, _, err := api.LeaveRoomWithHttpInfo(id)
			return res, err
		}
		res, _, err := api.LeaveGroupWithHttpInfo(id)
		return res, err
	})
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusBadRequest) {
		return nil
	}
	return err
}

// ShowLoading starts LINE's typing animation for a resident while a slow
// step runs; failures do not matter to the conversation.
func (l *LINE) ShowLoading(ctx context.Context, userID string) error {
	return l.call(ctx, "loading", func(api *messaging_api.MessagingApiAPI) (*http.Response, error) {
		res, _, err := api.ShowLoadingAnimationWithHttpInfo(&messaging_api.ShowLoadingAnimationRequest{ChatId: userID, LoadingSeconds: 5})
		return res, err
	})
}

// messages turns flow replies into LINE text messages; quick replies become
// postback buttons whose displayText shows the label as the resident's words.
func messages(replies []flows.Reply) []messaging_api.MessageInterface {
	out := make([]messaging_api.MessageInterface, 0, len(replies))
	for _, r := range replies {
		m := messaging_api.TextMessage{Text: truncate(r.Text, 5000)}
		if len(r.QuickReplies) > 0 {
			qr := &messaging_api.QuickReply{}
			for i, c := range r.QuickReplies {
				if i == 13 { // LINE's limit on quick-reply buttons
					break
				}
				label := truncate(c.Label, 20)
				qr.Items = append(qr.Items, messaging_api.QuickReplyItem{
					Type: "action",
					Action: &messaging_api.PostbackAction{
						Label: label, Data: truncate(c.Data, 300), DisplayText: truncate(c.Label, 300),
					},
				})
			}
			m.QuickReply = qr
		}
		out = append(out, m)
	}
	return out
}

func chunks(msgs []messaging_api.MessageInterface) [][]messaging_api.MessageInterface {
	var out [][]messaging_api.MessageInterface
	for len(msgs) > maxMessages {
		out = append(out, msgs[:maxMessages])
		msgs = msgs[maxMessages:]
	}
	if len(msgs) > 0 {
		out = append(out, msgs)
	}
	return out
}

// truncate cuts s to at most n characters (LINE counts characters, not bytes).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// retryNamespace is the UUIDv5 namespace of tsunagu's retry keys.
var retryNamespace = [16]byte{0x6b, 0x3c, 0x1e, 0x52, 0x8f, 0x0a, 0x4d, 0x1b, 0x9a, 0x55, 0x21, 0x7e, 0x03, 0xc4, 0x77, 0xd0}

// RetryKey is the X-Line-Retry-Key for the n-th push made for key: a
// name-based (version 5) UUID, the same every time it is computed.
func RetryKey(key string, n int) string {
	h := sha1.New()
	h.Write(retryNamespace[:])
	fmt.Fprintf(h, "%s#%d", key, n)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
