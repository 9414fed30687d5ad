package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/tsunagu-city/tsunagu/flows"
)

// MaxBody is the largest webhook body accepted. LINE batches are far
// smaller; the cap keeps a forged request from costing memory before the
// signature check.
const MaxBody = 1 << 20

// Webhook is the http.Handler of POST /webhook/line.
type Webhook struct {
	// Secret is the channel secret that signs LINE's requests.
	Secret string
	// Intake stores accepted events.
	Intake *Intake
	// Log receives event types and ids, never user ids or texts.
	Log *slog.Logger
	// Observer counts the events stored; none when nil.
	Observer Observer
}

// discard is the logger of a caller that gave none.
var discard = slog.New(slog.DiscardHandler)

// Body is implemented by a request body already read into memory (the
// server's bounded body reader does so); the webhook then uses the bytes
// without copying them.
type Body interface{ Bytes() []byte }

// ServeHTTP refuses a request without a signature before reading its body,
// checks the signature on the raw body, turns the events into intake
// entries and stores them before answering 200. It answers 503 when they
// cannot be stored, so LINE delivers them again.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = discard
	}
	sig := r.Header.Get("X-Line-Signature")
	if sig == "" {
		log.Warn("webhook without signature")
		w.Header().Set("Connection", "close")
		http.Error(w, "missing X-Line-Signature", http.StatusUnauthorized)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if !webhook.ValidateSignature(h.Secret, sig, body) {
		log.Warn("webhook with a wrong signature")
		http.Error(w, "bad X-Line-Signature", http.StatusUnauthorized)
		return
	}
	entries, err := ParseEvents(body, log)
	if err != nil {
		log.Warn("webhook body not understood", "err", err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	// Storing is bounded by the intake's AddTimeout.
	if err := h.Intake.Add(r.Context(), entries...); err != nil {
		log.Error("webhook events not stored; LINE will redeliver", "events", len(entries), "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if h.Observer != nil {
		h.Observer.EventsAccepted(len(entries))
	}
	w.WriteHeader(http.StatusOK)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	if b, ok := r.Body.(Body); ok {
		if len(b.Bytes()) > MaxBody {
			return nil, &http.MaxBytesError{Limit: MaxBody}
		}
		return b.Bytes(), nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
}

// ParseEvents turns a verified webhook body into intake entries. Each event
// is parsed on its own with the SDK so that one odd event cannot cost the
// rest of the batch; events that are not acted on are logged (type only).
func ParseEvents(body []byte, log *slog.Logger) ([]Entry, error) {
	if log == nil {
		log = discard
	}
	var req struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("parse webhook: %w", err)
	}
	out := make([]Entry, 0, len(req.Events))
	for _, raw := range req.Events {
		ev, err := webhook.UnmarshalEvent(raw)
		if err != nil {
			log.Warn("webhook event skipped: not understood", "type", rawType(raw), "err", errors.New("sdk parse error"))
			continue
		}
		e, ok := entryOf(ev, raw)
		if !ok {
			log.Info("webhook event skipped", "type", ev.GetType())
			continue
		}
		if e.To == "" {
			log.Info("webhook event skipped: no source", "type", ev.GetType())
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// entryOf reads what the workers need from one SDK event. It reports false
// for the event types the workers do not act on.
func entryOf(ev webhook.EventInterface, raw []byte) (Entry, bool) {
	var (
		e    Entry
		src  webhook.SourceInterface
		ts   int64
		mode webhook.EventMode
	)
	switch ev := ev.(type) {
	case webhook.MessageEvent:
		e.ID, src, ts, e.Token, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.ReplyToken, ev.Mode
		e.Kind, e.Text, e.Event = messageKind(ev.Message)
		e.MessageID = messageID(ev.Message)
	case webhook.PostbackEvent:
		e.ID, src, ts, e.Token, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.ReplyToken, ev.Mode
		e.Kind = KindChoice
		if ev.Postback != nil {
			e.Text = ev.Postback.Data
		}
	case webhook.FollowEvent:
		e.ID, src, ts, e.Token, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.ReplyToken, ev.Mode
		e.Kind, e.Event = KindEvent, flows.EventFollow
	case webhook.UnfollowEvent:
		e.ID, src, ts, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.Mode
		e.Kind = KindUnfollow
	case webhook.JoinEvent:
		e.ID, src, ts, e.Token, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.ReplyToken, ev.Mode
		e.Kind = KindGroup
	case webhook.UnsendEvent:
		e.ID, src, ts, mode = ev.WebhookEventId, ev.Source, ev.Timestamp, ev.Mode
		e.Kind = KindUnsend
		if ev.Unsend != nil {
			e.MessageID = ev.Unsend.MessageId
		}
		if e.MessageID == "" {
			return Entry{}, false
		}
	default:
		return Entry{}, false
	}
	e.Source, e.To = source(src)
	if e.Source == "group" || e.Source == "room" {
		if e.Kind == KindUnfollow || e.Kind == KindUnsend {
			return Entry{}, false
		}
		e.Kind, e.Text, e.Event, e.MessageID = KindGroup, "", "", ""
	}
	// In standby another channel answers the chat (a module holds it): the
	// event is stored, and seen, but nothing is sent and no group is left.
	e.Standby = mode == webhook.EventMode_STANDBY
	if ts > 0 {
		e.At = time.UnixMilli(ts)
	}
	if e.ID == "" || len(e.ID) > 64 {
		// LINE always sends an id; an event without one is keyed by its
		// content so that a redelivery is still recognised.
		sum := sha256.Sum256(raw)
		e.ID = "h:" + hex.EncodeToString(sum[:16])
	}
	return e, true
}

// messageKind maps a LINE message to what the flow reads; a message type the
// SDK does not know still reaches the flow, as a non-text event.
func messageKind(m webhook.MessageContentInterface) (Kind, string, flows.Event) {
	switch m := m.(type) {
	case webhook.TextMessageContent:
		return KindText, m.Text, ""
	case webhook.StickerMessageContent:
		// A message sticker carries words the resident chose: they are
		// read, triaged and relayed like text ("死にたい" on a sticker too).
		if strings.TrimSpace(m.Text) != "" {
			return KindText, m.Text, ""
		}
		return KindEvent, "", flows.EventSticker
	case webhook.ImageMessageContent:
		return KindEvent, "", flows.EventImage
	case webhook.VideoMessageContent:
		return KindEvent, "", flows.EventVideo
	case webhook.AudioMessageContent:
		return KindEvent, "", flows.EventAudio
	case webhook.FileMessageContent:
		return KindEvent, "", flows.EventFile
	case webhook.LocationMessageContent:
		return KindEvent, "", flows.EventLocation
	}
	return KindEvent, "", flows.Event("message")
}

// messageID is LINE's id of a message, which an unsend names.
func messageID(m webhook.MessageContentInterface) string {
	switch m := m.(type) {
	case webhook.TextMessageContent:
		return m.Id
	case webhook.StickerMessageContent:
		return m.Id
	case webhook.ImageMessageContent:
		return m.Id
	case webhook.VideoMessageContent:
		return m.Id
	case webhook.AudioMessageContent:
		return m.Id
	case webhook.FileMessageContent:
		return m.Id
	case webhook.LocationMessageContent:
		return m.Id
	}
	return ""
}

// rawType reads an event's type without trusting the rest of it.
func rawType(raw json.RawMessage) string {
	var t struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &t)
	if len(t.Type) > 40 {
		return t.Type[:40]
	}
	return t.Type
}

// source says where an event came from: "user", "group" or "room", and that id.
func source(s webhook.SourceInterface) (kind, id string) {
	switch s := s.(type) {
	case webhook.UserSource:
		return "user", s.UserId
	case webhook.GroupSource:
		return "group", s.GroupId
	case webhook.RoomSource:
		return "room", s.RoomId
	}
	return "", ""
}
