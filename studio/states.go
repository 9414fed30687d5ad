package studio

import (
	"strings"

	"github.com/tsunagu-city/tsunagu/flows"
)

// StateView is one state of the map as the page shows it on a click: its
// texts in every language side by side.
type StateView struct {
	ID string `json:"id"`
	// Start marks the state new residents begin in.
	Start bool `json:"start,omitempty"`
	// Handoff marks a state that hands the case to a person; Urgent an urgent one.
	Handoff bool `json:"handoff,omitempty"`
	Urgent  bool `json:"urgent,omitempty"`
	// Crisis marks the state every crisis leads to.
	Crisis bool       `json:"crisis,omitempty"`
	Texts  []TextView `json:"texts"`
	// Text says where typed messages go: next, or found and not found.
	TextNext     string `json:"text_next,omitempty"`
	TextFound    string `json:"text_found,omitempty"`
	TextNotFound string `json:"text_not_found,omitempty"`
}

// TextView is one text of a state — its message or a button's label — in
// every language of the flow.
type TextView struct {
	// What is "message" or "button".
	What string `json:"what"`
	// Button is the button's number, from 1.
	Button int `json:"button,omitempty"`
	// Next is where the button leads; Category the need it records.
	Next     string `json:"next,omitempty"`
	Category string `json:"category,omitempty"`
	// ByLocale is the text in each language; Missing lists the languages
	// without one, in the flow's order.
	ByLocale map[string]string `json:"by_locale"`
	Missing  []string          `json:"missing,omitempty"`
	File     string            `json:"file,omitempty"`
	Line     int               `json:"line,omitempty"`
}

// stateViews lays out every state's texts; file names are made relative
// to the flow folder by rel.
func stateViews(f *flows.Flow, rel func(string) string) []StateView {
	out := make([]StateView, 0, len(f.States))
	for _, s := range f.States {
		v := StateView{ID: s.ID, Start: s.ID == f.Start, Crisis: s.ID == f.Crisis.Next}
		if s.Handoff != nil {
			v.Handoff, v.Urgent = true, s.Handoff.Urgent
		}
		if s.Text != nil {
			v.TextNext, v.TextFound, v.TextNotFound = s.Text.Next, s.Text.Found, s.Text.NotFound
		}
		v.Texts = append(v.Texts, textView(f, "message", 0, s.Message, rel))
		for i, q := range s.QuickReplies {
			t := textView(f, "button", i+1, q.Label, rel)
			t.Next, t.Category = q.Next, q.Category
			v.Texts = append(v.Texts, t)
		}
		out = append(out, v)
	}
	return out
}

func textView(f *flows.Flow, what string, button int, t flows.Text, rel func(string) string) TextView {
	v := TextView{What: what, Button: button, ByLocale: map[string]string{}, File: rel(t.Pos.File), Line: t.Pos.Line}
	for _, l := range f.Locales {
		s := strings.TrimSpace(t.ByLocale[l.ID])
		if s == "" {
			v.Missing = append(v.Missing, l.ID)
			continue
		}
		v.ByLocale[l.ID] = s
	}
	return v
}
