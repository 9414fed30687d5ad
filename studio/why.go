package studio

import (
	"regexp"
	"slices"
	"strings"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Why is what triage saw in one resident message: the message as it was
// read (sentences, words, dictionary forms), what it found in the message
// alone, and what it found in the resident's recent messages read together,
// which is what the conversation acts on.
type Why struct {
	Text      string                    `json:"text"`
	Sentences []flows.ExplainedSentence `json:"sentences"`
	Message   Verdict                   `json:"message"`
	// Together is the triage of the recent messages, oldest first, when
	// there is more than this one.
	Together *Verdict `json:"together,omitempty"`
	Recent   []string `json:"recent,omitempty"`
}

// Verdict is a triage result laid out for a person.
type Verdict struct {
	Crisis     bool     `json:"crisis"`
	Check      bool     `json:"check"`
	Kind       string   `json:"kind,omitempty"`
	Categories []string `json:"categories"`
	Patterns   []string `json:"patterns,omitempty"`
	Reasons    []Reason `json:"reasons"`
}

// Reason is one line of triage's "why": a crisis rule or a category and the
// words that matched.
type Reason struct {
	// Type is crisis (a crisis verdict), check (the safety check would be
	// asked), category, or other for a line the studio cannot take apart.
	Type string `json:"type"`
	// Kind is the crisis kind, for crisis and check.
	Kind string `json:"kind,omitempty"`
	// Category is the category id, for category.
	Category string `json:"category,omitempty"`
	// Matched are the phrases or concept combinations that matched.
	Matched []string `json:"matched,omitempty"`
	// LoweredBy is the context that lowered a clear crisis phrase to the
	// safety check (joke, topic, past…).
	LoweredBy string `json:"lowered_by,omitempty"`
	// Line is triage's own words.
	Line string `json:"line"`
}

// explain says what triage saw in text, and in the recent messages (which
// end with text, when the engine kept it).
func explain(f *flows.Flow, text string, recent []string) Why {
	ex := f.Explain(text)
	w := Why{Text: text, Sentences: ex.Sentences, Message: verdict(f, ex.Result)}
	if len(recent) > 1 {
		v := verdict(f, f.Triage(recent...))
		w.Together, w.Recent = &v, slices.Clone(recent)
	}
	return w
}

func verdict(f *flows.Flow, r flows.TriageResult) Verdict {
	v := Verdict{Crisis: r.Crisis, Check: r.Check, Kind: r.Kind, Categories: r.Categories, Patterns: r.Patterns}
	if v.Categories == nil {
		v.Categories = []string{}
	}
	v.Reasons = reasons(f, r.Why)
	return v
}

// whyLine reads one line of TriageResult.Why: "crisis suicide: die + wish",
// "check suicide: die + wish (lowered by past)", "elderly: 介護, 介護疲れ".
var (
	whyCrisis  = regexp.MustCompile(`^(crisis|check) (\S+): (.+?)(?: \(lowered by (\S+)\))?$`)
	whyCategor = regexp.MustCompile(`^(\S+): (.+)$`)
)

// reasons takes triage's why lines apart, so the page can show the rule,
// the words and the context on their own. A line of another shape is kept
// whole, never dropped.
func reasons(f *flows.Flow, why []string) []Reason {
	out := make([]Reason, 0, len(why))
	for _, line := range why {
		if m := whyCrisis.FindStringSubmatch(line); m != nil {
			out = append(out, Reason{Type: m[1], Kind: m[2], Matched: []string{m[3]}, LoweredBy: m[4], Line: line})
			continue
		}
		if m := whyCategor.FindStringSubmatch(line); m != nil {
			if _, ok := f.Category(m[1]); ok {
				out = append(out, Reason{Type: "category", Category: m[1], Matched: strings.Split(m[2], ", "), Line: line})
				continue
			}
		}
		out = append(out, Reason{Type: "other", Line: line})
	}
	return out
}
