package stats

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Label names an id (a category, crisis kind or pattern) for people.
type Label struct{ ID, Name string }

// Labels are the names a report uses, in the order it lists them; ids
// found in the counters but not here (a category since removed from the
// flow) are listed after them under their id.
type Labels struct {
	Categories []Label
	Crises     []Label
	Patterns   []Label
}

// Row is one line of a report: a counter over the months.
type Row struct {
	// Key is the counter's field ("cat:elderly"), for CSV readers.
	Key string
	// Label is the row's name in Japanese.
	Label  string
	Values []int64
	Total  int64
	// Of is set for a share: Values are then counted out of Of's values,
	// and shown as percentages.
	Of *Row
}

// Cell is the row's value in month i (len(Values) for the total), as shown.
func (r Row) Cell(i int) string {
	v, of := r.Total, int64(0)
	if i < len(r.Values) {
		v = r.Values[i]
	}
	if r.Of == nil {
		return fmt.Sprint(v)
	}
	of = r.Of.Total
	if i < len(r.Of.Values) {
		of = r.Of.Values[i]
	}
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(v)/float64(of))
}

// Section is a titled group of rows.
type Section struct {
	// ID names the section in CSV ("category").
	ID string
	// Title is Japanese, English in TitleEN (docs and CSV readers).
	Title, TitleEN string
	Rows           []Row
}

// Report is the figures of a span of months, ready to be printed.
type Report struct {
	Months   []string
	Sections []Section
	// byKey finds a row by its key.
	byKey map[string]*Row
}

// Row returns the row of a counter key ("opened", "cat:elderly"), or an empty row.
func (rep *Report) Row(key string) Row {
	if r := rep.byKey[key]; r != nil {
		return *r
	}
	return Row{Key: key, Values: make([]int64, len(rep.Months))}
}

// The time-to-claim buckets as they are named in reports.
var waitNames = map[string]string{
	"5m": "5分未満", "15m": "5〜15分", "1h": "15分〜1時間", "4h": "1〜4時間", "1d": "4時間〜1日", WaitMore: "1日以上",
}

var routeNames = []Label{
	{RouteCrisis, "危機の言葉から（緊急）"},
	{RouteTriaged, "分野がわかって"},
	{RouteUnclear, "分野不明・よろず相談"},
}

// NewReport builds the report of the months read.
func NewReport(months []MonthCounts, l Labels) *Report {
	rep := &Report{byKey: map[string]*Row{}}
	for _, m := range months {
		rep.Months = append(rep.Months, m.Month)
	}
	row := func(key, label string, fields ...string) Row {
		r := Row{Key: key, Label: label, Values: make([]int64, len(months))}
		for i, m := range months {
			for _, f := range fields {
				r.Values[i] += m.Counts[f]
			}
			r.Total += r.Values[i]
		}
		return r
	}
	listed := func(prefix string, known []Label, suffixes ...string) []Label {
		seen := map[string]bool{}
		out := slices.Clone(known)
		for _, k := range known {
			seen[k.ID] = true
		}
		var extra []string
		for _, m := range months {
			for f := range m.Counts {
				rest, ok := strings.CutPrefix(f, prefix)
				if !ok {
					continue
				}
				for _, s := range suffixes {
					rest = strings.TrimSuffix(rest, s)
				}
				if !seen[rest] {
					seen[rest] = true
					extra = append(extra, rest)
				}
			}
		}
		sort.Strings(extra)
		for _, id := range extra {
			out = append(out, Label{id, id})
		}
		return out
	}

	opened := row(FieldOpened, "新規の相談", FieldOpened)
	cases := Section{ID: "cases", Title: "相談件数", TitleEN: "Cases", Rows: []Row{
		opened,
		row(FieldUrgent, "うち緊急", FieldUrgent),
		row(FieldOOH, "うち時間外", FieldOOH),
		{},
		row(FieldReopened, "うち再相談（前の相談の続き）", FieldReopened),
		row(FieldCompound, "うち複合（2分野以上）", FieldCompound),
		row(FieldClaimed, "担当が決まった", FieldClaimed),
		row(FieldClosed, "終了した", FieldClosed),
	}}
	ooh := cases.Rows[2]
	cases.Rows[3] = Row{Key: "ooh_share", Label: "時間外の割合", Values: ooh.Values, Total: ooh.Total}
	cats := Section{ID: "category", Title: "分野別（最初に担当した分野）", TitleEN: "Cases by category (the team that took them first)"}
	urgent := Section{ID: "category_urgent", Title: "分野別の緊急の相談", TitleEN: "Urgent cases by category"}
	needs := Section{ID: "need", Title: "挙がった分野（1件に複数あり）", TitleEN: "Needs named (a case may name several)"}
	for _, c := range listed(prefixCat, l.Categories, ":urgent", ":normal") {
		cats.Rows = append(cats.Rows, row(prefixCat+c.ID, c.Name, prefixCat+c.ID+":urgent", prefixCat+c.ID+":normal"))
		if u := row(prefixCat+c.ID+":urgent", c.Name, prefixCat+c.ID+":urgent"); u.Total > 0 {
			urgent.Rows = append(urgent.Rows, u)
		}
	}
	for _, c := range listed(prefixNeed, l.Categories) {
		needs.Rows = append(needs.Rows, row(prefixNeed+c.ID, c.Name, prefixNeed+c.ID))
	}
	routes := Section{ID: "route", Title: "相談のきっかけ", TitleEN: "How cases came"}
	for _, r := range listed(prefixRoute, routeNames) {
		routes.Rows = append(routes.Rows, row(prefixRoute+r.ID, r.Name, prefixRoute+r.ID))
	}
	patterns := Section{ID: "pattern", Title: "複合的な課題", TitleEN: "Compound patterns"}
	for _, p := range listed(prefixPattern, l.Patterns) {
		patterns.Rows = append(patterns.Rows, row(prefixPattern+p.ID, p.Name, prefixPattern+p.ID))
	}
	crises := Section{ID: "crisis", Title: "危機の種類", TitleEN: "Crises by kind"}
	for _, c := range listed(prefixCrisis, l.Crises) {
		crises.Rows = append(crises.Rows, row(prefixCrisis+c.ID, c.Name, prefixCrisis+c.ID))
	}
	waits := Section{ID: "wait", Title: "担当が決まるまでの時間", TitleEN: "Time to claim"}
	for _, b := range WaitBuckets {
		waits.Rows = append(waits.Rows, row(prefixWait+b.Key, waitNames[b.Key], prefixWait+b.Key))
	}
	waits.Rows = append(waits.Rows, row(prefixWait+WaitMore, waitNames[WaitMore], prefixWait+WaitMore))

	rep.Sections = []Section{cases, cats, urgent, needs, routes, patterns, crises, waits}
	for si := range rep.Sections {
		for ri := range rep.Sections[si].Rows {
			r := &rep.Sections[si].Rows[ri]
			if _, dup := rep.byKey[r.Key]; !dup {
				rep.byKey[r.Key] = r
			}
		}
	}
	rep.Sections[0].Rows[3].Of = rep.byKey[FieldOpened]
	return rep
}
