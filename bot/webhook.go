package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"
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
	// Timeout bounds storing a batch; 5s when zero (LINE waits a little longer).
	Timeout time.Duration
}

// ServeHTTP checks the signature on the raw body, parses the events with
// the SDK and stores those the workers act on before answering 200. It
// answers 503 when they cannot be stored, so LINE delivers them again.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.Default()
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
	sig := r.Header.Get("X-Line-Signature")
	if sig == "" {
		log.Warn("webhook without signature")
		http.Error(w, "missing X-Line-Signature", http.StatusBadRequest)
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
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := h.Intake.Add(ctx, entries...); err != nil {
		log.Error("webhook events not stored; LINE will redeliver", "events", len(entries), "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
}

// handled are the event types the workers act on; every other type LINE
// sends is logged here and skipped without touching Redis.
var handled = map[string]bool{
	"message": true, "postback": true, "follow": true, "unfollow": true, "join": true,
}

// ParseEvents turns a verified webhook body into intake entries. Each event
// is parsed on its own with the SDK so that one odd event cannot cost the
// rest of the batch; events that are not acted on are logged (type only).
func ParseEvents(body []byte, log *slog.Logger) ([]Entry, error) {
	var req struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("parse webhook: %w", err)
	}
	var out []Entry
	for _, raw := range req.Events {
		ev, err := webhook.UnmarshalEvent(raw)
		if err != nil {
			log.Warn("webhook event skipped: not understood", "type", rawType(raw), "err", errors.New("sdk parse error"))
			continue
		}
		typ := ev.GetType()
		if _, unknown := ev.(webhook.UnknownEvent); unknown || !handled[typ] {
			log.Info("webhook event skipped", "type", typ)
			continue
		}
		id, src := eventMeta(ev, raw)
		e := Entry{ID: id, Type: typ, Raw: raw}
		e.Source, e.To = source(src)
		if e.To == "" {
			log.Info("webhook event skipped: no source", "type", typ)
			continue
		}
		out = append(out, e)
	}
	return out, nil
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

// eventMeta reads what the SDK's event types share but do not expose through
// one interface: the webhookEventId and the source. LINE always sends an id;
// an event without one is keyed by its content so that a redelivery is
// still recognised.
func eventMeta(ev webhook.EventInterface, raw []byte) (id string, src webhook.SourceInterface) {
	switch e := ev.(type) {
	case webhook.MessageEvent:
		id, src = e.WebhookEventId, e.Source
	case webhook.PostbackEvent:
		id, src = e.WebhookEventId, e.Source
	case webhook.FollowEvent:
		id, src = e.WebhookEventId, e.Source
	case webhook.UnfollowEvent:
		id, src = e.WebhookEventId, e.Source
	case webhook.JoinEvent:
		id, src = e.WebhookEventId, e.Source
	}
	if id == "" || len(id) > 64 {
		sum := sha256.Sum256(raw)
		id = "h:" + hex.EncodeToString(sum[:16])
	}
	return id, src
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
