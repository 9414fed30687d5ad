package studio

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Turn is one thing the resident did in a tried conversation, as the page
// records it: it is replayed when the conversation becomes a test.
type Turn struct {
	// Kind is "say" (typed text), "choose" (a button pressed) or "event"
	// (a sticker, an image, staff closing the case…).
	Kind string `json:"kind"`
	// Text is what was typed, for say.
	Text string `json:"text,omitempty"`
	// Label and Data are the button's label as shown and what it sends, for choose.
	Label string `json:"label,omitempty"`
	Data  string `json:"data,omitempty"`
	// Event names the event, for event (sticker, image, case_closed…).
	Event string `json:"event,omitempty"`
}

// The kinds of Turn.
const (
	turnSay    = "say"
	turnChoose = "choose"
	turnEvent  = "event"
)

// input is the flow's Input for a turn at now.
func (t Turn) input(now time.Time) (flows.Input, error) {
	switch t.Kind {
	case turnSay:
		return flows.Input{Kind: flows.InputText, Text: t.Text, Now: now}, nil
	case turnChoose:
		return flows.Input{Kind: flows.InputChoice, Text: t.Data, Now: now}, nil
	case turnEvent:
		if t.Event == "" {
			return flows.Input{}, fmt.Errorf("an event turn needs an event name")
		}
		return flows.Input{Kind: flows.InputEvent, Event: flows.Event(t.Event), Now: now}, nil
	}
	return flows.Input{}, fmt.Errorf("unknown turn kind %q (say, choose or event)", t.Kind)
}

// DefaultClock is when a tried conversation happens unless the page says
// otherwise: a Wednesday at 10:00 in Tokyo, inside office hours, the same
// as a conversation test that gives no time.
const DefaultClock = "2026-11-25T10:00:00+09:00"

// clock is when the step-th step (from 0) of a conversation that began at
// start happens: one minute after the one before, as conversation tests
// count, so that a conversation replays the same as a test.
func clock(start string, step int) (time.Time, error) {
	if start == "" {
		start = DefaultClock
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time like %s", start, DefaultClock)
	}
	return t.Add(time.Duration(step) * time.Minute), nil
}

// Item is one thing the resident or staff would see after a step: a bubble
// from the bot, or an event in the conversation (a handoff, a relay…).
type Item struct {
	// Type is reply, handoff, relay, check, erase, locale, or other for an
	// action this studio does not know yet (Name says which).
	Type string `json:"type"`
	// Text is the reply's text, or the words relayed.
	Text         string   `json:"text,omitempty"`
	QuickReplies []Button `json:"quick_replies,omitempty"`
	// Case is the case a handoff opened or a relay went to.
	Case       string   `json:"case,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Urgent     bool     `json:"urgent,omitempty"`
	// Crisis is the crisis kind of a handoff; Kind the kind a safety check asked about.
	Crisis   string   `json:"crisis,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Compound bool     `json:"compound,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	// Checked is the safety check's answer a handoff carries to staff.
	Checked string `json:"checked,omitempty"`
	Reopen  string `json:"reopen,omitempty"`
	Locale  string `json:"locale,omitempty"`
	// Name and Detail describe an action this studio does not know yet.
	Name   string `json:"name,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Button is a quick-reply button as the resident sees it.
type Button struct {
	Label string `json:"label"`
	Data  string `json:"data"`
}

// StepRequest is one step of a tried conversation: the session so far, what
// the resident did, and when the conversation began.
type StepRequest struct {
	Session flows.Session `json:"session"`
	Turn    Turn          `json:"turn"`
	// At is when the conversation began (RFC 3339); Index counts the steps
	// before this one, so this step happens Index minutes after At.
	At    string `json:"at"`
	Index int    `json:"index"`
}

// StepResult is what came of a step.
type StepResult struct {
	Session flows.Session `json:"session"`
	Items   []Item        `json:"items"`
	// Why is what triage saw, for typed text.
	Why *Why `json:"why,omitempty"`
}

// Step plays one step on f, as the service would, with the shell's part
// played the simplest way: a handoff opens case STUDIO-n.
func Step(f *flows.Flow, req StepRequest) (StepResult, error) {
	now, err := clock(req.At, req.Index)
	if err != nil {
		return StepResult{}, err
	}
	in, err := req.Turn.input(now)
	if err != nil {
		return StepResult{}, err
	}
	s, actions := f.Step(req.Session, in)
	res := StepResult{Items: make([]Item, 0, len(actions))}
	for _, a := range actions {
		if _, ok := a.(flows.Handoff); ok && s.Case == "" {
			s.Case = nextCase(s.PrevCase)
		}
		res.Items = append(res.Items, item(a, s))
	}
	res.Session = s
	if req.Turn.Kind == turnSay {
		why := explain(f, req.Turn.Text, s.Recent)
		res.Why = &why
	}
	return res, nil
}

// casePrefix starts the ids of the cases a tried conversation opens.
const casePrefix = "STUDIO-"

// nextCase names the case a handoff opens, after the closed case prev.
func nextCase(prev string) string {
	n, err := strconv.Atoi(strings.TrimPrefix(prev, casePrefix))
	if err != nil || !strings.HasPrefix(prev, casePrefix) {
		n = 0
	}
	return casePrefix + strconv.Itoa(n+1)
}

// item is how an action shows in the conversation. s is the session after
// the step, which holds the case a handoff opened.
func item(a flows.Action, s flows.Session) Item {
	switch a := a.(type) {
	case flows.Reply:
		it := Item{Type: "reply", Text: a.Text}
		for _, q := range a.QuickReplies {
			it.QuickReplies = append(it.QuickReplies, Button{Label: q.Label, Data: q.Data})
		}
		return it
	case flows.Handoff:
		return Item{Type: "handoff", Case: s.Case, Categories: a.Categories, Urgent: a.Urgent, Crisis: a.Crisis,
			Compound: a.Compound, Patterns: a.Patterns, Checked: a.Checked, Kind: a.CheckKind, Reopen: a.Reopen}
	case flows.Relay:
		return Item{Type: "relay", Case: a.Case, Text: a.Text}
	case flows.Check:
		return Item{Type: "check", Kind: a.Kind}
	case flows.Erase:
		return Item{Type: "erase"}
	case flows.SetLocale:
		return Item{Type: "locale", Locale: a.Locale}
	case flows.Retriage:
		return Item{Type: "retriage", Case: a.Case, Categories: a.Categories}
	}
	return other(a)
}

// other shows an action this studio does not know yet by its type's name
// and its fields, so that a new kind of action is seen rather than lost.
func other(a flows.Action) Item {
	it := Item{Type: "other", Name: fmt.Sprintf("%T", a)}
	if t := reflect.TypeOf(a); t != nil {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Name() != "" {
			it.Name = t.Name()
		}
	}
	if b, err := json.Marshal(a); err == nil && string(b) != "{}" && string(b) != "null" {
		it.Detail = string(b)
	} else if err != nil {
		it.Detail = fmt.Sprintf("%+v", a)
	}
	return it
}
