package flows

import (
	"fmt"
	"strings"
	"time"
)

// span is an opening span in minutes from local midnight, [from, to).
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// compile checks and indexes the hours; problems are reported at h.Pos.
func (h *Hours) compile() []string {
	var problems []string
	tz := h.Timezone
	if tz == "" {
		tz = "Asia/Tokyo"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		problems = append(problems, fmt.Sprintf("hours.timezone %q is not a known time zone (use a name like Asia/Tokyo)", tz))
		loc = time.FixedZone("JST", 9*3600)
	}
	h.location = loc
	h.spans = [7][]span{}
	for day, list := range h.Weekly {
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			problems = append(problems, fmt.Sprintf("hours.weekly: %q is not a day (use mon, tue, wed, thu, fri, sat, sun)", day))
			continue
		}
		for _, s := range list {
			sp, err := parseSpan(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("hours.weekly.%s: %v", day, err))
				continue
			}
			h.spans[wd] = append(h.spans[wd], sp)
		}
	}
	h.closed = map[string]bool{}
	for _, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			problems = append(problems, fmt.Sprintf("hours.holidays: %q is not a date like 2026-01-01", d))
			continue
		}
		h.closed[d] = true
	}
	return problems
}

func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not a span like 08:30-17:15", s)
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil || t <= f {
		return span{}, fmt.Errorf("%q is not a span like 08:30-17:15 (start before end, 24-hour clock)", s)
	}
	return span{f, t}, nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Open reports whether staff are at work at t. A flow without weekly hours is always open.
func (h *Hours) Open(t time.Time) bool {
	if len(h.Weekly) == 0 {
		return true
	}
	lt := t.In(h.location)
	if h.closed[lt.Format(time.DateOnly)] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, sp := range h.spans[lt.Weekday()] {
		if m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

// NextOpen returns the next time at or after t when staff are at work, or
// the zero time if the flow has no opening in the coming 60 days.
func (h *Hours) NextOpen(t time.Time) time.Time {
	if h.Open(t) {
		return t
	}
	lt := t.In(h.location)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, h.location)
	for i := 0; i < 60; i++ {
		d := day.AddDate(0, 0, i)
		if h.closed[d.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range h.spans[d.Weekday()] {
			start := d.Add(time.Duration(sp.from) * time.Minute)
			end := d.Add(time.Duration(sp.to) * time.Minute)
			if end.After(lt) {
				if start.Before(lt) {
					return lt
				}
				return start
			}
		}
	}
	return time.Time{}
}

// LocalDay is t's date in the flow's time zone, as 2006-01-02.
func (h *Hours) LocalDay(t time.Time) string { return t.In(h.location).Format(time.DateOnly) }

// describe writes the weekly hours for a resident, grouping days with the
// same spans: 月〜金 8:30〜17:15 (en: Mon–Fri 8:30–17:15). Holidays are
// not listed; texts say "祝日・年末年始を除く" themselves where they want.
func (h *Hours) describe(locale, fallback string) string {
	names := map[string][7]string{
		"ja":      {"日", "月", "火", "水", "木", "金", "土"},
		"easy-ja": {"にちようび", "げつようび", "かようび", "すいようび", "もくようび", "きんようび", "どようび"},
		"en":      {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
	}
	dash, sep := "〜", "、"
	if strings.HasPrefix(locale, "en") {
		dash, sep = "–", "; "
	}
	days, ok := names[locale]
	if !ok {
		if days, ok = names[fallback]; !ok {
			days = names["en"]
		}
	}
	spans := func(d int) string {
		var parts []string
		for _, s := range h.spans[d] {
			parts = append(parts, fmt.Sprintf("%d:%02d%s%d:%02d", s.from/60, s.from%60, dash, s.to/60, s.to%60))
		}
		return strings.Join(parts, ", ")
	}
	// Monday first, as a week is read in an office.
	order := []int{1, 2, 3, 4, 5, 6, 0}
	var groups []string
	for i := 0; i < len(order); {
		d := order[i]
		if len(h.spans[d]) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < len(order) && spans(order[j+1]) == spans(d) {
			j++
		}
		label := days[d]
		if j > i {
			label += dash + days[order[j]]
		}
		groups = append(groups, label+" "+spans(d))
		i = j + 1
	}
	return strings.Join(groups, sep)
}
