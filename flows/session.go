package flows

import (
	"encoding/json"
	"fmt"
	"time"
)

// SessionVersion is the version written into every serialised Session.
const SessionVersion = 1

// Session is one resident's place in the conversation. It is small, carries
// no LINE identifiers, and serialises to compact JSON for the store.
type Session struct {
	V int `json:"v"`
	// State is the current state id; empty means a new session.
	State string `json:"s,omitempty"`
	// Locale is the resident's language; empty means the flow's default.
	Locale string `json:"l,omitempty"`
	// Greeted is set once the privacy notice was shown.
	Greeted bool `json:"g,omitempty"`
	// Back is the state to return to after a cancelled delete or language choice.
	Back string `json:"b,omitempty"`
	// Chosen are the categories the resident picked with buttons, in order.
	Chosen []string `json:"c,omitempty"`
	// Choices are the labels of the buttons the resident pressed, in the default locale.
	Choices []string `json:"ch,omitempty"`
	// Recent are the resident's last few free-text messages, oldest first.
	Recent []string `json:"r,omitempty"`
	// Case is the open case id once handed off; set by the shell, not the engine.
	Case string `json:"k,omitempty"`
	// HandedOff is set when a handoff was emitted and not yet closed.
	HandedOff bool `json:"h,omitempty"`
	// Urgent is set once the case was handed off as urgent.
	Urgent bool `json:"u,omitempty"`
	// OutOfHoursDay is the local date on which the out-of-hours text was last sent.
	OutOfHoursDay string `json:"o,omitempty"`
	// PrevCase is the closed case a new case should be linked to.
	PrevCase string `json:"pk,omitempty"`
	// Crisis is the crisis kind the resident was last given the numbers for.
	Crisis string `json:"cr,omitempty"`
	// CheckKind is the crisis kind of the last safety check asked;
	// CheckOpen is set while it waits for an answer.
	CheckKind string `json:"ck,omitempty"`
	CheckOpen bool   `json:"co,omitempty"`
	// Checked is the answer to the last safety check: yes, unsure, no, or
	// unanswered when the resident wrote on instead.
	Checked string `json:"cd,omitempty"`
	// PrivacyDue is set when the privacy notice waits for the next answer
	// (a first message that was a crisis got the numbers first).
	PrivacyDue bool `json:"pd,omitempty"`
	// AckAt is when the resident was last told their words arrived
	// (Unix seconds), while staff have the case.
	AckAt int64 `json:"a,omitempty"`
	// Again is the state whose question was asked once more after free text.
	Again string `json:"ag,omitempty"`
	// Suggested are categories found in the resident's words after the
	// handoff, already suggested to staff.
	Suggested []string `json:"sg,omitempty"`
	// Heard counts the first messages that may set the register (at most
	// registerMessages); a language button settles it.
	Heard int `json:"n,omitempty"`
	// Young is set when those messages read as a child's or a pupil's:
	// crisis answers give the numbers for the young.
	Young bool `json:"y,omitempty"`
	// Japanese is set once the resident has written in Japanese: a later
	// message in Latin letters does not switch to English.
	Japanese bool `json:"jp,omitempty"`
	// KanaOnly counts the first messages written without kanji.
	KanaOnly int `json:"ko,omitempty"`
	// AckN turns the short answers after a crisis, so they do not repeat.
	AckN int `json:"an,omitempty"`
	// Answered is the FAQ or guide answer given last, so that the same
	// answer is not given twice in a row.
	Answered string `json:"qa,omitempty"`
	// AskAt is when a question while staff have the case was last told a
	// person will answer it (Unix seconds).
	AskAt int64 `json:"qt,omitempty"`
}

// MarshalSession encodes a session as compact versioned JSON.
func MarshalSession(s Session) ([]byte, error) {
	s.V = SessionVersion
	return json.Marshal(s)
}

// UnmarshalSession decodes a session; an unknown version is an error so that
// an old binary never silently misreads a newer session.
func UnmarshalSession(b []byte) (Session, error) {
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	if s.V != SessionVersion {
		return Session{}, fmt.Errorf("decode session: version %d, want %d", s.V, SessionVersion)
	}
	return s, nil
}

// InputKind says what the resident did.
type InputKind string

// The kinds of input.
const (
	// InputText is a free-text message (or a quick-reply label typed by hand).
	InputText InputKind = "text"
	// InputChoice is a quick-reply postback; Data carries QuickReplyChoice.Data.
	InputChoice InputKind = "choice"
	// InputEvent is anything else: follow, sticker, image, case closed…
	InputEvent InputKind = "event"
)

// Event names the non-text things a resident (or staff) can cause.
type Event string

// The events the engine understands; any other event gets the non_text answer.
const (
	EventFollow     Event = "follow"
	EventSticker    Event = "sticker"
	EventImage      Event = "image"
	EventVideo      Event = "video"
	EventAudio      Event = "audio"
	EventFile       Event = "file"
	EventLocation   Event = "location"
	EventCaseClosed Event = "case_closed"
)

// Input is one thing the resident did, with the time it happened.
type Input struct {
	Kind InputKind
	// Text is the message text for InputText, the postback data for InputChoice.
	Text  string
	Event Event
	// Now is when the input arrived; it decides business hours.
	Now time.Time
	// StaffRecordKept is set when the city keeps the staff's record in
	// Slack after an erasure (TSUNAGU_ERASE_SLACK=false): the confirmation
	// says delete_done_kept, what is kept and where, instead of delete_done.
	StaffRecordKept bool
}

// Action is something the shell must do after a Step. The concrete types are
// Reply, Handoff, Relay, Check, Retriage, Erase and SetLocale.
type Action interface{ action() }

// Reply is a message to the resident.
type Reply struct {
	Text         string
	QuickReplies []Choice
}

// Choice is one quick-reply button as the resident sees it.
type Choice struct {
	// Label is what the button says (at most 20 characters for LINE).
	Label string
	// Data is what comes back as InputChoice when pressed.
	Data string
}

// Handoff asks the shell to hand the case to people.
type Handoff struct {
	// Categories are ranked, best first; never empty.
	Categories []string
	Urgent     bool
	// Crisis is the crisis kind (suicide, violence, medical) or empty.
	Crisis string
	// Compound is set for needs that span teams; Patterns names the flagged patterns.
	Compound bool
	Patterns []string
	// Locale is the resident's language.
	Locale string
	// Said are the resident's recent words, oldest first; Chose the buttons pressed.
	Said  []string
	Chose []string
	// Reopen is the closed case this new one follows, if any.
	Reopen string
	// Checked is the answer to the safety check asked before, if one was
	// (yes, unsure or no), and CheckKind the kind it asked about: staff see it.
	Checked   string
	CheckKind string
}

// Relay asks the shell to pass what the resident sent into the open case.
type Relay struct {
	Case string
	// Text is the message, or a short marker such as "[sticker]" for non-text.
	Text string
}

// Check tells the shell the safety check was asked about Kind: the reply
// carries the question, and the shell can show it on the case and count it.
type Check struct{ Kind string }

// Retriage tells the shell that the resident's later words point to more
// teams: staff see them suggested on the case, and decide.
type Retriage struct {
	Case       string
	Categories []string
}

// Erase asks the shell to delete everything kept about the resident.
type Erase struct{}

// SetLocale tells the shell the resident's language changed.
type SetLocale struct{ Locale string }

func (Reply) action()     {}
func (Handoff) action()   {}
func (Relay) action()     {}
func (Check) action()     {}
func (Retriage) action()  {}
func (Erase) action()     {}
func (SetLocale) action() {}
