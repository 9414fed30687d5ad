package flows

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Labelled is one message of an evaluation set and what a person said it is.
type Labelled struct {
	// Line is where it was in the file.
	Line int
	// Crisis is true for "crisis" lines.
	Crisis bool
	// Kind is the crisis kind after "crisis:", or "".
	Kind string
	// Category is the team after "calm:", or "" when the line only says calm.
	Category string
	Text     string
}

// ParseEvalSet reads a labelled set: one "LABEL<TAB>message" per line, where
// LABEL is crisis, crisis:KIND, calm or calm:CATEGORY. Blank lines and lines
// starting with # are skipped. Every malformed line is reported, by number.
func ParseEvalSet(r io.Reader) ([]Labelled, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out []Labelled
	var bad []string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		text = strings.TrimSpace(text)
		if !ok || text == "" {
			bad = append(bad, fmt.Sprintf("line %d: want LABEL<TAB>message", n))
			continue
		}
		kind, detail, _ := strings.Cut(strings.TrimSpace(label), ":")
		l := Labelled{Line: n, Text: text}
		switch kind {
		case "crisis":
			l.Crisis, l.Kind = true, detail
		case "calm":
			l.Category = detail
		default:
			bad = append(bad, fmt.Sprintf("line %d: label %q is not crisis, crisis:KIND, calm or calm:CATEGORY", n, label))
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read evaluation set: %w", err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("evaluation set:\n%s", strings.Join(bad, "\n"))
	}
	return out, nil
}

// EvalReport is how triage did on a labelled set.
type EvalReport struct {
	Crisis int // crisis messages
	// Caught counts crisis messages that got a crisis verdict or a safety check;
	// Alarmed those that got the crisis verdict itself.
	Caught, Alarmed int
	// KindRight counts caught crisis messages labelled with a kind whose verdict had that kind; KindLabelled those labelled with one.
	KindRight, KindLabelled int
	Calm                    int // calm messages
	// FalseAlarms are calm messages given a crisis verdict; Checks those given a safety check.
	FalseAlarms, Checks int
	// Top2 counts calm messages with a category whose label is among the first two ranked; Categorised those with a category.
	Top2, Categorised int
	// ByKind counts crisis messages and those caught, per labelled kind.
	ByKind map[string][2]int
	// Missed, Alarms, Checked and Misrouted are the lines behind the counts, for a person to read.
	Missed, Alarms, Checked, Misrouted []EvalLine
}

// EvalLine is one message the report names, with what triage said.
type EvalLine struct {
	Labelled
	Got TriageResult
}

// Evaluate runs triage on each message alone and scores it against its label.
// A calm message labelled general counts as right when triage finds nothing,
// since unclear text goes to the general team.
func (f *Flow) Evaluate(set []Labelled) EvalReport {
	r := EvalReport{ByKind: map[string][2]int{}}
	for _, l := range set {
		got := f.Triage(l.Text)
		line := EvalLine{Labelled: l, Got: got}
		if l.Crisis {
			r.Crisis++
			k := r.ByKind[l.Kind]
			k[0]++
			if got.Crisis || got.Check {
				k[1]++
			}
			r.ByKind[l.Kind] = k
			switch {
			case got.Crisis:
				r.Caught++
				r.Alarmed++
			case got.Check:
				r.Caught++
			default:
				r.Missed = append(r.Missed, line)
			}
			if l.Kind != "" {
				r.KindLabelled++
				if (got.Crisis || got.Check) && got.Kind == l.Kind {
					r.KindRight++
				}
			}
			continue
		}
		r.Calm++
		switch {
		case got.Crisis:
			r.FalseAlarms++
			r.Alarms = append(r.Alarms, line)
		case got.Check:
			r.Checks++
			r.Checked = append(r.Checked, line)
		}
		if l.Category == "" {
			continue
		}
		r.Categorised++
		top := got.Categories[:min(2, len(got.Categories))]
		if slices.Contains(top, l.Category) || l.Category == "general" && len(got.Categories) == 0 {
			r.Top2++
		} else {
			r.Misrouted = append(r.Misrouted, line)
		}
	}
	return r
}

// Summary is the report's figures in one paragraph.
func (r EvalReport) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crisis caught (crisis or check): %d/%d %s (crisis verdict %d, check %d)\n",
		r.Caught, r.Crisis, pct(r.Caught, r.Crisis), r.Alarmed, r.Caught-r.Alarmed)
	if r.KindLabelled > 0 {
		fmt.Fprintf(&b, "crisis kind right: %d/%d %s\n", r.KindRight, r.KindLabelled, pct(r.KindRight, r.KindLabelled))
		kinds := make([]string, 0, len(r.ByKind))
		for k := range r.ByKind {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		b.WriteString("caught by kind:")
		for _, k := range kinds {
			if k != "" {
				fmt.Fprintf(&b, " %s %d/%d", k, r.ByKind[k][1], r.ByKind[k][0])
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "false alarms on calm: %d/%d %s\n", r.FalseAlarms, r.Calm, pct(r.FalseAlarms, r.Calm))
	fmt.Fprintf(&b, "checks on calm: %d/%d %s\n", r.Checks, r.Calm, pct(r.Checks, r.Calm))
	fmt.Fprintf(&b, "category in top 2: %d/%d %s\n", r.Top2, r.Categorised, pct(r.Top2, r.Categorised))
	return b.String()
}

func pct(n, of int) string {
	if of == 0 {
		return "(-)"
	}
	return fmt.Sprintf("(%.1f%%)", 100*float64(n)/float64(of))
}
