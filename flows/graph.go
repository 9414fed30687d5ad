package flows

import (
	"fmt"
	"strings"

	"github.com/looplab/fsm"
)

// Graph draws the flow as a Mermaid state diagram: buttons are labelled in
// the default language, free-text routes as "text", "found" and "not found".
// Transitions that work from every state (crisis, a person, delete,
// language) would cross every arrow, so they are listed as comments instead.
func (f *Flow) Graph() (string, error) {
	var ev fsm.Events
	for _, s := range f.States {
		for _, q := range s.QuickReplies {
			if q.Next != "" {
				label := strings.NewReplacer(":", "：", "\n", " ").Replace(q.Label.In(f.Locale(), f.Locale()))
				ev = append(ev, fsm.EventDesc{Name: label, Src: []string{s.ID}, Dst: q.Next})
			}
		}
		if r := s.Text; r != nil {
			for name, dst := range map[string]string{evText: r.Next, evFound: r.Found, evNotFound: r.NotFound} {
				if dst != "" {
					ev = append(ev, fsm.EventDesc{Name: name, Src: []string{s.ID}, Dst: dst})
				}
			}
		}
	}
	out, err := fsm.VisualizeForMermaidWithGraphType(fsm.NewFSM(f.Start, ev, nil), fsm.StateDiagram)
	if err != nil {
		return "", fmt.Errorf("draw flow: %w", err)
	}
	var b strings.Builder
	b.WriteString(out)
	for _, g := range []struct{ name, dst string }{
		{evCrisis, f.Crisis.Next}, {evHuman, f.Intents.Human.Next},
		{evDelete, f.Intents.Delete.Next}, {evLanguage, f.Intents.Language.Next},
	} {
		fmt.Fprintf(&b, "    %%%% from any state: %s --> %s\n", g.name, g.dst)
	}
	for _, s := range f.States {
		if s.Handoff != nil {
			kind := "handoff"
			if s.Handoff.Urgent {
				kind = "urgent handoff"
			}
			fmt.Fprintf(&b, "    note right of %s: %s\n", s.ID, kind)
		}
	}
	return b.String(), nil
}
