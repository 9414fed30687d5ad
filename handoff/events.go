package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxBody caps what a Slack request may carry; events and interaction
// payloads are a few kilobytes.
const maxBody = 1 << 20

// verified checks Slack's v0 signature and its 5-minute replay window and
// returns the body; on failure it has answered the request and returns
// nil. A request without well-formed signature headers is refused before
// its body is read, and nothing an unauthenticated sender wrote is logged.
func (s *Service) verified(w http.ResponseWriter, r *http.Request) []byte {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	sig, ts := r.Header.Get("X-Slack-Signature"), r.Header.Get("X-Slack-Request-Timestamp")
	if !strings.HasPrefix(sig, "v0=") || len(sig) > 80 || ts == "" || len(ts) > 12 || strings.Trim(ts, "0123456789") != "" {
		s.log.WarnContext(r.Context(), "slack request refused: signature headers missing or malformed")
		w.Header().Set("Connection", "close")
		http.Error(w, "bad or missing signature", http.StatusUnauthorized)
		return nil
	}
	var body []byte
	if b, ok := r.Body.(interface{ Bytes() []byte }); ok && len(b.Bytes()) <= maxBody {
		body = b.Bytes()
	} else {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody)); err != nil {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return nil
		}
	}
	sv, err := slack.NewSecretsVerifier(r.Header, s.cfg.SigningSecret)
	if err != nil {
		// A timestamp outside the replay window (the headers are checked above).
		s.log.WarnContext(r.Context(), "slack request refused: stale timestamp")
		http.Error(w, "bad or stale signature", http.StatusUnauthorized)
		return nil
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		s.log.WarnContext(r.Context(), "slack request refused: signature mismatch")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil
	}
	return body
}

// EventsHandler serves POST /slack/events: it answers url_verification,
// and stores every event callback (once per event_id) in the queue before
// acknowledging, so the work survives a crash and Slack's retries are not
// done twice. If Redis cannot take the event it answers 503 and Slack
// retries.
func (s *Service) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := s.verified(w, r)
		if body == nil {
			return
		}
		challenge, err := s.intakeEvent(r.Context(), body)
		var perm permanentError
		switch {
		case errors.As(err, &perm):
			http.Error(w, "malformed event", http.StatusBadRequest)
		case err != nil:
			s.log.ErrorContext(r.Context(), "slack event not stored", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
		case challenge != "":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, challenge)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

// intakeEvent stores an Events API envelope; for url_verification it
// returns the challenge instead. HTTP and Socket Mode share it.
func (s *Service) intakeEvent(ctx context.Context, body []byte) (string, error) {
	var env struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		EventID   string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return "", permanent(fmt.Errorf("decode slack event: %w", err))
	}
	switch env.Type {
	case slackevents.URLVerification:
		return env.Challenge, nil
	case slackevents.CallbackEvent:
	default:
		s.log.InfoContext(ctx, "slack envelope skipped", "type", env.Type)
		return "", nil
	}
	if env.EventID == "" {
		return "", permanent(errors.New("slack event without event_id"))
	}
	fresh, err := s.enqueue(ctx, task{Kind: kindEvent, Raw: body}, "event:"+env.EventID)
	if err != nil {
		return "", err
	}
	if !fresh {
		s.log.InfoContext(ctx, "slack event retry ignored", "event_id", env.EventID)
	}
	return "", nil
}

// InteractionsHandler serves POST /slack/interactions (the card's buttons
// and selects). The payload is stored in the queue and acknowledged at
// once; the card is updated by the worker.
func (s *Service) InteractionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := s.verified(w, r)
		if body == nil {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			http.Error(w, "no payload", http.StatusBadRequest)
			return
		}
		err = s.intakeInteraction(r.Context(), []byte(form.Get("payload")))
		var perm permanentError
		switch {
		case errors.As(err, &perm):
			http.Error(w, "malformed payload", http.StatusBadRequest)
		case err != nil:
			s.log.ErrorContext(r.Context(), "slack interaction not stored", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

// intakeInteraction stores an interaction payload once per trigger.
func (s *Service) intakeInteraction(ctx context.Context, payload []byte) error {
	var p struct {
		Type      string `json:"type"`
		TriggerID string `json:"trigger_id"`
		Actions   []struct {
			ActionTS string `json:"action_ts"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return permanent(fmt.Errorf("decode slack interaction: %w", err))
	}
	if p.Type != string(slack.InteractionTypeBlockActions) {
		s.log.InfoContext(ctx, "slack interaction skipped", "type", p.Type)
		return nil
	}
	dedupe := p.TriggerID
	if len(p.Actions) > 0 {
		dedupe += ":" + p.Actions[0].ActionTS
	}
	_, err := s.enqueue(ctx, task{Kind: kindInteraction, Raw: payload}, "ix:"+dedupe)
	return err
}

// relayedSubtypes are the message subtypes that are a person writing:
// plain messages, replies also sent to the channel, and messages with files.
var relayedSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true}

// handleEvent does the work of one stored event callback.
func (s *Service) handleEvent(ctx context.Context, raw []byte) error {
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		return permanent(fmt.Errorf("parse slack event: %w", err))
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return nil
	}
	m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		return nil
	}
	switch m.SubType {
	case slack.MsgSubTypeMessageChanged, slack.MsgSubTypeMessageDeleted:
		return s.staffEdit(ctx, m)
	}
	return s.staffMessage(ctx, cb.EventID, m)
}

// caseError is an error in the work on a case, which the queue logs with
// the case id (a staff reply's task knows only its thread).
type caseError struct {
	id  string
	err error
}

func (e caseError) Error() string { return e.err.Error() }
func (e caseError) Unwrap() error { return e.err }

// caseOf is the case a failed task was about.
func caseOf(t task, err error) string {
	var ce caseError
	if t.Case == "" && errors.As(err, &ce) {
		return ce.id
	}
	return t.Case
}

// staffMessage relays a staff reply in a case thread to the resident.
func (s *Service) staffMessage(ctx context.Context, eventID string, m *slackevents.MessageEvent) error {
	switch {
	case m.ThreadTimeStamp == "" || m.ThreadTimeStamp == m.TimeStamp:
		return nil // not a thread reply
	case m.BotID != "" || m.SubType == "bot_message" || m.User == "" || m.User == s.self():
		return nil // our own posts and other bots
	case !relayedSubtypes[m.SubType]:
		return nil // joins and the like
	}
	id, err := s.st.caseOfThread(ctx, m.Channel, m.ThreadTimeStamp)
	if err != nil {
		return err
	}
	if id == "" {
		return s.movedThread(ctx, m)
	}
	if err := s.staffReply(ctx, eventID, id, m); err != nil {
		return caseError{id, err}
	}
	return nil
}

// movedThread answers a reply in a thread whose case was transferred: it
// did not reach the resident, and the notice links the case's thread now.
// A thread that never was a case's is left alone.
func (s *Service) movedThread(ctx context.Context, m *slackevents.MessageEvent) error {
	id, err := s.st.caseOfMovedThread(ctx, m.Channel, m.ThreadTimeStamp)
	if err != nil || id == "" {
		return err
	}
	if isNote(m.Text) {
		return nil
	}
	c, err := s.st.get(ctx, id)
	if errors.Is(err, errNoCase) {
		return nil
	}
	if err != nil {
		return caseError{id, err}
	}
	if c.Home == nil {
		return nil
	}
	s.log.InfoContext(ctx, "staff reply in a thread the case left", "case", id)
	note := fmt.Sprintf(":arrow_right: このケースは *%s* に転送されています。今の返信は相談者に送られていません。<%s|新しいスレッド>で返信してください。",
		s.teamName(c.Home.Category), c.Home.Permalink)
	if _, _, err := s.postMessage(ctx, m.Channel, c.Urgent, slack.MsgOptionText(note, false), slack.MsgOptionTS(m.ThreadTimeStamp)); err != nil {
		return caseError{id, err}
	}
	return nil
}

// staffReply relays a staff reply in case id's thread.
func (s *Service) staffReply(ctx context.Context, eventID, id string, m *slackevents.MessageEvent) error {
	if isNote(m.Text) {
		s.log.InfoContext(ctx, "staff note kept internal", "case", id)
		if c, err := s.st.get(ctx, id); err == nil {
			// A note is activity too: the case is being worked.
			return s.st.touch(ctx, c)
		}
		return nil
	}
	c, err := s.st.get(ctx, id)
	if err != nil {
		return err
	}
	if !c.Forgotten.IsZero() {
		return s.postThread(ctx, c, forgottenReply)
	}
	if c.Status == StatusClosed {
		return s.postThread(ctx, c, ":no_entry_sign: このケースは終了しています。今の返信は相談者に送られていません。")
	}
	text := plainText(m.Text, func(user string) string { return s.memberName(ctx, user) })
	if m.SubType == "file_share" {
		if err := s.postThread(ctx, c, ":paperclip: ファイルは相談者に送られません（本文だけが送られます）。"); err != nil {
			return err
		}
	}
	if text == "" {
		return nil
	}
	role := s.flow().Text("staff_role", c.Locale)
	if s.cfg.ShowStaffNames {
		if name := s.staffName(ctx, m.User); name != "" {
			role += " " + name
		}
	}
	user, err := s.st.resident(ctx, id)
	if errors.Is(err, errNoCase) {
		// The resident is erasing their data right now (Forget has cut the
		// link but not yet marked the case): say so rather than drop the reply.
		return s.postThread(ctx, c, forgottenReply)
	}
	if err != nil {
		return err
	}
	cut, err := s.push.Push(ctx, user, "slack-event:"+eventID, "【"+role+"】\n"+text)
	if why, ok := refusal(err); ok {
		// No retry changes LINE's mind: staff hear it now, not in 25 minutes.
		s.log.WarnContext(ctx, "staff reply refused by LINE; not retried", "case", id, "err", err)
		return s.notDelivered(ctx, c, m.Channel, m.TimeStamp,
			":warning: この返信は相談者に届いていません。LINE が受け付けませんでした（"+why+"）。内容を見直して、もう一度送ってください。")
	}
	if err != nil {
		return fmt.Errorf("push staff reply of case %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "staff reply relayed", "case", id)
	if err := s.st.markRelayed(ctx, id, m.Channel, m.TimeStamp, s.cfg.MessageTTL); err != nil {
		s.log.WarnContext(ctx, "record relayed staff reply", "case", id, "err", err)
	}
	if err := s.st.touch(ctx, c); err != nil {
		s.log.WarnContext(ctx, "keep case after staff reply", "case", id, "err", err)
	}
	if c.FirstReply.IsZero() {
		if _, err := s.st.update(ctx, id, func(c *Case) error {
			if c.FirstReply.IsZero() {
				c.FirstReply = s.cfg.Now()
			}
			return nil
		}); err != nil {
			s.log.WarnContext(ctx, "record first reply", "case", id, "err", err)
		}
	}
	if cut > 0 {
		note := fmt.Sprintf(":scissors: 返信が長すぎたため、途中までしか相談者に届いていません。残り（約 %d 文字）は送られていません。続きは新しい返信で送ってください。", cut)
		if err := s.postThread(ctx, c, note); err != nil {
			s.log.WarnContext(ctx, "note of a cut reply not posted", "case", id, "err", err)
		}
	}
	// A tick tells staff the reply went out; failing to add it is harmless.
	s.react(ctx, id, m.Channel, m.TimeStamp, "white_check_mark")
	return nil
}

// refusal reports whether err is LINE refusing a push for good (an error
// whose Permanent method says so) and why, in LINE's words (which never
// echo what was sent), cut short.
func refusal(err error) (string, bool) {
	var p interface {
		error
		Permanent() bool
	}
	if err == nil || !errors.As(err, &p) || !p.Permanent() {
		return "", false
	}
	return truncate(p.Error(), 300), true
}

// notDelivered marks a staff message that did not reach the resident with
// a warning and says why in the case thread.
func (s *Service) notDelivered(ctx context.Context, c *Case, channel, ts, note string) error {
	s.react(ctx, c.ID, channel, ts, "warning")
	return s.postThread(ctx, c, note)
}

// react adds a reaction to a staff message; failing to is logged only.
func (s *Service) react(ctx context.Context, id, channel, ts, name string) {
	err := s.callSlack(ctx, "", false, func() error {
		return s.api.AddReactionContext(ctx, name, slack.ItemRef{Channel: channel, Timestamp: ts})
	})
	if err != nil {
		s.log.WarnContext(ctx, "slack reactions.add failed", "case", id, "reaction", name, "err", err)
	}
}

// gaveUp tells the thread that a staff reply was dropped after LINE failed
// for it again and again.
func (s *Service) gaveUp(ctx context.Context, t task, cause error) {
	if t.Kind != kindEvent {
		return
	}
	ev, err := slackevents.ParseEvent(t.Raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		return
	}
	m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || m.ThreadTimeStamp == "" {
		return
	}
	id, err := s.st.caseOfThread(ctx, m.Channel, m.ThreadTimeStamp)
	if err != nil || id == "" {
		return
	}
	c, err := s.st.get(ctx, id)
	if err != nil {
		return
	}
	why := "LINE に届けられませんでした"
	if errors.Is(cause, context.DeadlineExceeded) {
		why = "LINE が時間内に応答しませんでした"
	}
	note := ":warning: この返信は相談者に届いていません。何度か送り直しましたが、" + why + "。時間をおいて、もう一度送ってください。"
	if err := s.notDelivered(ctx, c, m.Channel, m.TimeStamp, note); err != nil {
		s.log.ErrorContext(ctx, "thread not told of a dropped reply", "case", id, "err", err)
	}
}

// staffEdit answers a staff member editing or deleting a reply that already
// reached the resident: LINE cannot take a message back, so the thread
// says the resident keeps the original (see docs/slack.md for the choice).
func (s *Service) staffEdit(ctx context.Context, m *slackevents.MessageEvent) error {
	prev := m.PreviousMessage
	if prev == nil || prev.User == "" || prev.User == s.self() || prev.BotID != "" {
		return nil
	}
	thread := prev.ThreadTimestamp
	verb := "削除"
	if m.SubType == slack.MsgSubTypeMessageChanged {
		if m.Message == nil || m.Message.Text == prev.Text {
			return nil // a link unfurled, a reaction: the words are the same
		}
		verb = "編集"
	}
	if thread == "" || thread == prev.Timestamp {
		return nil
	}
	id, err := s.st.caseOfThread(ctx, m.Channel, thread)
	if err != nil || id == "" {
		return err
	}
	relayed, err := s.st.relayed(ctx, id, m.Channel, prev.Timestamp)
	if err != nil || !relayed {
		return err
	}
	c, err := s.st.get(ctx, id)
	if err != nil {
		return caseError{id, err}
	}
	s.log.InfoContext(ctx, "staff changed a reply the resident already has", "case", id, "change", verb)
	note := ":pencil2: " + verb + "は相談者に届きません。相談者は" + verb + "前の返信をすでに受け取っています。訂正や取り消しが必要なら、このスレッドに新しい返信で伝えてください。"
	if err := s.postThread(ctx, c, note); err != nil {
		return caseError{id, err}
	}
	return nil
}

func (s *Service) staffName(ctx context.Context, user string) string {
	var u *slack.User
	err := s.callSlack(ctx, "", false, func() (err error) {
		u, err = s.api.GetUserInfoContext(ctx, user)
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "slack users.info failed", "err", err)
		return ""
	}
	if u.Profile.DisplayName != "" {
		return u.Profile.DisplayName
	}
	return u.Profile.RealName
}

// memberNameTTL is how long a member's display name is remembered.
const memberNameTTL = time.Hour

type memberName struct {
	name string
	at   time.Time
}

// memberName is how a mention of a member reads to a resident: their
// display name (users.info, remembered for an hour), or 「担当者」.
func (s *Service) memberName(ctx context.Context, user string) string {
	now := s.cfg.Now()
	if v, ok := s.names.Load(user); ok && now.Sub(v.(memberName).at) < memberNameTTL {
		return v.(memberName).name
	}
	name := s.staffName(ctx, user)
	if name == "" {
		name = "担当者"
	}
	s.names.Store(user, memberName{name, now})
	return name
}
