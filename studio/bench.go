package studio

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/tsunagu-city/tsunagu/flows"
)

// The triage bench: a list of messages, each triaged on its own, as
// `flows triage --eval` does. With labels (a TSV of LABEL<TAB>message) it
// also says which verdicts are right; without, it only shows them. The page
// keeps a run as "before" and compares every later run with it, which is
// how an officer sees what an edit now catches and no longer catches.

// maxBenchMessages bounds one bench run (a month of messages is a few thousand).
const maxBenchMessages = 20000

// BenchRow is one message of the bench and triage's verdict on it.
type BenchRow struct {
	// Line is the message's line in what was pasted.
	Line int    `json:"line"`
	Text string `json:"text"`
	// Label is the person's label (crisis, crisis:KIND, calm, calm:CATEGORY), if given.
	Label string `json:"label,omitempty"`
	// Verdict is crisis, check or calm.
	Verdict    string   `json:"verdict"`
	Kind       string   `json:"kind,omitempty"`
	Categories []string `json:"categories"`
	Reasons    []Reason `json:"reasons"`
	// Outcome grades a labelled row: caught, checked (caught by the safety
	// check), missed, false_alarm, check_on_calm, misrouted or right.
	Outcome string `json:"outcome,omitempty"`
}

// BenchResult is a bench run.
type BenchResult struct {
	Labelled bool       `json:"labelled"`
	Rows     []BenchRow `json:"rows"`
	// Crisis, Check and Calm count the verdicts.
	Crisis int `json:"crisis"`
	Check  int `json:"check"`
	Calm   int `json:"calm"`
	// Score is the scoring of a labelled set, as `flows triage --eval` prints it.
	Score *BenchScore `json:"score,omitempty"`
}

// BenchScore are the figures of flows.EvalReport a person compares.
type BenchScore struct {
	CrisisMessages int `json:"crisis_messages"`
	Caught         int `json:"caught"`
	Alarmed        int `json:"alarmed"`
	CalmMessages   int `json:"calm_messages"`
	FalseAlarms    int `json:"false_alarms"`
	Checks         int `json:"checks"`
	Categorised    int `json:"categorised"`
	Top2           int `json:"top2"`
	KindLabelled   int `json:"kind_labelled"`
	KindRight      int `json:"kind_right"`
	// Summary is the report in `flows triage --eval`'s words.
	Summary string `json:"summary"`
}

// Bench triages every message of text: one message a line, or a labelled
// TSV when any line holds a tab. A malformed labelled line is an error that
// names every bad line.
func Bench(f *flows.Flow, text string) (BenchResult, error) {
	if strings.Contains(text, "\t") {
		return benchLabelled(f, text)
	}
	var res BenchResult
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		msg := strings.TrimSpace(sc.Text())
		if msg == "" || strings.HasPrefix(msg, "#") {
			continue
		}
		if len(res.Rows) == maxBenchMessages {
			return BenchResult{}, fmt.Errorf("more than %d messages: split the list", maxBenchMessages)
		}
		res.add(benchRow(f, n, msg, ""))
	}
	if err := sc.Err(); err != nil {
		return BenchResult{}, fmt.Errorf("read the messages: %w", err)
	}
	return res, nil
}

func benchLabelled(f *flows.Flow, text string) (BenchResult, error) {
	set, err := flows.ParseEvalSet(strings.NewReader(text))
	if err != nil {
		return BenchResult{}, err
	}
	if len(set) > maxBenchMessages {
		return BenchResult{}, fmt.Errorf("more than %d messages: split the list", maxBenchMessages)
	}
	res := BenchResult{Labelled: true}
	for _, l := range set {
		row := benchRow(f, l.Line, l.Text, labelOf(l))
		row.Outcome = outcome(l, row)
		res.add(row)
	}
	r := f.Evaluate(set)
	res.Score = &BenchScore{
		CrisisMessages: r.Crisis, Caught: r.Caught, Alarmed: r.Alarmed,
		CalmMessages: r.Calm, FalseAlarms: r.FalseAlarms, Checks: r.Checks,
		Categorised: r.Categorised, Top2: r.Top2, KindLabelled: r.KindLabelled, KindRight: r.KindRight,
		Summary: r.Summary(),
	}
	return res, nil
}

func (r *BenchResult) add(row BenchRow) {
	switch row.Verdict {
	case "crisis":
		r.Crisis++
	case "check":
		r.Check++
	default:
		r.Calm++
	}
	r.Rows = append(r.Rows, row)
}

func benchRow(f *flows.Flow, line int, text, label string) BenchRow {
	v := verdict(f, f.Triage(text))
	row := BenchRow{Line: line, Text: text, Label: label, Verdict: "calm", Categories: v.Categories, Reasons: v.Reasons}
	switch {
	case v.Crisis:
		row.Verdict, row.Kind = "crisis", v.Kind
	case v.Check:
		row.Verdict, row.Kind = "check", v.Kind
	}
	return row
}

func labelOf(l flows.Labelled) string {
	switch {
	case l.Crisis && l.Kind != "":
		return "crisis:" + l.Kind
	case l.Crisis:
		return "crisis"
	case l.Category != "":
		return "calm:" + l.Category
	}
	return "calm"
}

// outcome grades a row against its label the way flows.Evaluate counts it.
func outcome(l flows.Labelled, row BenchRow) string {
	if l.Crisis {
		switch row.Verdict {
		case "crisis":
			return "caught"
		case "check":
			return "checked"
		}
		return "missed"
	}
	switch row.Verdict {
	case "crisis":
		return "false_alarm"
	case "check":
		return "check_on_calm"
	}
	if l.Category != "" {
		top := row.Categories[:min(2, len(row.Categories))]
		if !slices.Contains(top, l.Category) && (l.Category != "general" || len(row.Categories) > 0) {
			return "misrouted"
		}
	}
	return "right"
}
