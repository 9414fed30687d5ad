package flows

import (
	"slices"
	"strings"
)

// TriageResult is what triage found in what the resident wrote.
type TriageResult struct {
	// Crisis is set when a crisis rule matched: the numbers and a person, at once.
	Crisis bool `json:"crisis"`
	// Check is set when the signal was not clear enough for a crisis verdict
	// and the flow would ask the resident the safety check.
	Check bool `json:"check"`
	// Kind is the crisis kind of the verdict or the check, or empty.
	Kind string `json:"crisis_kind,omitempty"`
	// Categories are category ids ranked best first; empty when nothing matched.
	Categories []string `json:"categories"`
	// Patterns are the compound patterns that matched.
	Patterns []string `json:"patterns,omitempty"`
	// Compound is set when two or more categories or a pattern matched.
	Compound bool `json:"compound"`
}

// triager holds the flow's phrase rules compiled for matching.
type triager struct {
	crisis     []rule // parallel to Flow.Crisis.Rules
	categories []rule // parallel to Flow.Categories
	patterns   []rule // parallel to Flow.Patterns
	human      rule
	del        rule
	language   rule
	greetings  rule
}

func (f *Flow) compileTriage() {
	t := &triager{}
	for _, c := range f.Crisis.Rules {
		t.crisis = append(t.crisis, compileRule(c.Phrases, c.Except))
	}
	for _, c := range f.Categories {
		t.categories = append(t.categories, compileRule(c.Phrases, c.Except))
	}
	for _, p := range f.Patterns {
		t.patterns = append(t.patterns, compileRule(p.Phrases, p.Except))
	}
	t.human = compileRule(f.Intents.Human.Phrases, nil)
	t.del = compileRule(f.Intents.Delete.Phrases, nil)
	t.language = compileRule(f.Intents.Language.Phrases, nil)
	t.greetings = compileRule(f.Intents.Greetings, nil)
	f.triage = t
}

// crisisRule returns the index of the first crisis rule matching cur, or cur
// written right after prev (a phrase split over two messages, "死に" / "たい"),
// or -1. prev on its own was checked when it arrived.
func (t *triager) crisisRule(prev, cur string) int {
	views := []view{newView(cur)}
	if prev != "" {
		views = append(views, newView(prev+cur))
	}
	for _, v := range views {
		for k, r := range t.crisis {
			if len(r.matches(v)) > 0 {
				return k
			}
		}
	}
	return -1
}

// Triage reads the texts together (the resident's recent messages, oldest
// first) and ranks the categories they point to. Crisis rules come first.
func (f *Flow) Triage(texts ...string) TriageResult {
	res := TriageResult{Categories: []string{}}
	for i, text := range texts {
		prev := ""
		if i > 0 {
			prev = texts[i-1]
		}
		if k := f.triage.crisisRule(prev, text); k >= 0 {
			res.Crisis, res.Kind = true, f.Crisis.Rules[k].Kind
			break
		}
	}
	crisisCategory := ""
	if res.Crisis {
		for _, r := range f.Crisis.Rules {
			if r.Kind == res.Kind {
				crisisCategory = r.Category
			}
		}
	}
	v := newView(strings.Join(texts, "\n"))
	scores := make([]int, len(f.Categories))
	for i, r := range f.triage.categories {
		scores[i] = len(r.matches(v))
	}
	for i, r := range f.triage.patterns {
		if len(r.matches(v)) == 0 {
			continue
		}
		res.Patterns = append(res.Patterns, f.Patterns[i].ID)
		for _, c := range f.Patterns[i].Categories {
			if k, ok := f.catIx[c]; ok {
				scores[k]++
			}
		}
	}
	order := make([]int, 0, len(scores))
	for i, s := range scores {
		if s > 0 {
			order = append(order, i)
		}
	}
	// Stable: on a tie, the category the administrator listed first wins.
	slices.SortStableFunc(order, func(a, b int) int { return scores[b] - scores[a] })
	if crisisCategory != "" {
		// The team that takes the urgent case comes first, as in the engine.
		res.Categories = append(res.Categories, crisisCategory)
	}
	for _, i := range order {
		if id := f.Categories[i].ID; id != crisisCategory {
			res.Categories = append(res.Categories, id)
		}
	}
	res.Compound = len(res.Patterns) > 0 || len(res.Categories) >= 2
	return res
}

// greetingOnly reports whether s says nothing but greetings ("こんにちは！",
// "hello"), which is never triaged as a need.
func (t *triager) greetingOnly(s string) bool {
	v := newView(s)
	if v.joined == "" || len(t.greetings.phrases) == 0 {
		return false
	}
	// Whole-word ASCII greetings go first, while spaces still mark words.
	rest := " " + v.spaced + " "
	for _, p := range t.greetings.phrases {
		if p.ascii {
			for strings.Contains(rest, " "+p.text+" ") {
				rest = strings.ReplaceAll(rest, " "+p.text+" ", " ")
			}
		}
	}
	rest = strings.ReplaceAll(rest, " ", "")
	for _, p := range t.greetings.phrases {
		if !p.ascii {
			rest = strings.ReplaceAll(rest, p.text, "")
		}
	}
	return rest == ""
}
