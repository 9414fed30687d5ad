package flows

import (
	"fmt"
	"strings"
	"time"
)

// openSpan is when a crisis line answers: a span on the days of days (a
// bit per time.Weekday; 0 means every day, holidays included).
type openSpan struct {
	days uint8
	span
}

// parseOpen reads "10:00-22:00" or "mon-fri 08:30-17:15".
func parseOpen(s string) (openSpan, error) {
	s = strings.TrimSpace(s)
	var o openSpan
	if days, rest, ok := strings.Cut(s, " "); ok {
		from, to, ranged := strings.Cut(days, "-")
		if !ranged {
			to = from
		}
		f, ok1 := weekdays[strings.ToLower(from)]
		t, ok2 := weekdays[strings.ToLower(to)]
		if !ok1 || !ok2 {
			return o, fmt.Errorf("%q: %q is not days like mon-fri or sat", s, days)
		}
		for d := f; ; d = (d + 1) % 7 {
			o.days |= 1 << d
			if d == t {
				break
			}
		}
		s = strings.TrimSpace(rest)
	}
	sp, err := parseSpan(s)
	if err != nil {
		return o, err
	}
	o.span = sp
	return o, nil
}

// compileOpen parses the number's open spans.
func (n *Number) compileOpen() []error {
	var errs []error
	n.open = nil
	for _, s := range n.Open {
		o, err := parseOpen(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n.open = append(n.open, o)
	}
	return errs
}

// Line availability, best first.
const (
	lineOpen = iota
	lineUnknown
	lineClosed
)

// availability says whether the line answers at t.
func (f *Flow) availability(n Number, t time.Time) int {
	if len(n.open) == 0 || t.IsZero() {
		return lineUnknown
	}
	lt := t.In(f.Hours.location)
	m := lt.Hour()*60 + lt.Minute()
	holiday := f.Hours.closed[lt.Format(time.DateOnly)]
	for _, o := range n.open {
		if o.days != 0 && (o.days&(1<<lt.Weekday()) == 0 || holiday) {
			continue
		}
		if m >= o.from && m < o.to {
			return lineOpen
		}
	}
	return lineClosed
}

// minOpenLines is how many lines a crisis answer keeps at least: below it,
// lines closed at this hour are shown after the open ones rather than left out.
const minOpenLines = 2

// crisisNumbers are the ids a crisis answer gives, in the order to show
// them: the rule's own order (the young's list for a child), without the
// lines closed at this hour. A person in crisis at 3 a.m. who dials a line
// that only answers from ten is turned away twice, and the answer says the
// lines above will answer; so closed lines are left out while at least
// minOpenLines others remain, and put last otherwise.
func (st *step) crisisNumbers(rule CrisisRule) []string {
	ids := rule.Numbers
	if st.s.Young && len(rule.YoungNumbers) > 0 {
		ids = rule.YoungNumbers
	}
	closed := map[string]bool{}
	for _, n := range st.f.Crisis.Numbers {
		if st.f.availability(n, st.in.Now) == lineClosed {
			closed[n.ID] = true
		}
	}
	open := make([]string, 0, len(ids))
	var shut []string
	for _, id := range ids {
		if closed[id] {
			shut = append(shut, id)
		} else {
			open = append(open, id)
		}
	}
	if len(open) >= minOpenLines {
		return open
	}
	return append(open, shut...)
}
