// Package stats keeps the anonymous monthly counters that the city's
// 重層的支援会議 (multi-layered support coordination meeting) reviews: cases
// per category and urgency, how they came, crises by kind, the share that
// came out of hours and how long they waited for a person. The counters
// hold no case id, no LINE id and no words, and they outlive the cases
// they count: cases expire after the retention time, the year's figures
// must not.
package stats

import (
	"strings"
	"time"
)

// Kind is what happened to a case.
type Kind int

// The kinds of case events counted.
const (
	// Opened is a new case (counted once, by the handoff that stored it).
	Opened Kind = iota + 1
	// Claimed is the first time a staff member took the case.
	Claimed
	// Closed is a case closed by staff.
	Closed
	// Crisis is a crisis during a case that was already open.
	Crisis
)

// Event is one thing that happened to a case, as the counters see it: what
// kind of case, never whose or what was said.
type Event struct {
	Kind Kind
	// At is when it happened: the counters are filed under its month.
	At time.Time
	// Category is the home category (the team the case went to first) and
	// Needs every category found; for Opened.
	Category string
	Needs    []string
	// Urgent is set for urgent cases (a crisis or the resident's urgency).
	Urgent bool
	// CrisisKind is the crisis kind, for Opened (when the case opened with
	// one) and Crisis.
	CrisisKind string
	// Patterns are the compound patterns found (8050, ダブルケア…).
	Patterns []string
	// OutOfHours is set when the case came outside business hours.
	OutOfHours bool
	// Reopened is set when the case follows a closed one (つながり続ける).
	Reopened bool
	// Wait is how long the case waited from opening to its first claim.
	Wait time.Duration
}

// Routes: how a case came to a person.
const (
	RouteCrisis  = "crisis"  // crisis words, from any state
	RouteTriaged = "triaged" // a need was named by button or found in the words
	RouteUnclear = "unclear" // nothing found: the general team (よろず相談)
)

// Route is how a case with this home category and crisis kind came.
func Route(category, crisis string) string {
	switch {
	case crisis != "":
		return RouteCrisis
	case category == "" || category == "general":
		return RouteUnclear
	}
	return RouteTriaged
}

// WaitBuckets are the upper bounds of the time-to-claim buckets; a wait
// past the last is counted as "more".
var WaitBuckets = []struct {
	Key   string
	Below time.Duration
}{
	{"5m", 5 * time.Minute},
	{"15m", 15 * time.Minute},
	{"1h", time.Hour},
	{"4h", 4 * time.Hour},
	{"1d", 24 * time.Hour},
}

// WaitMore is the key of the bucket past the last bound.
const WaitMore = "more"

// waitBucket is the bucket key of a wait.
func waitBucket(d time.Duration) string {
	for _, b := range WaitBuckets {
		if d < b.Below {
			return b.Key
		}
	}
	return WaitMore
}

// Field names in a month's hash. Each is a plain counter; the ids in them
// are the flow's category, crisis and pattern ids, never a case's.
const (
	FieldOpened   = "opened"
	FieldClaimed  = "claimed"
	FieldClosed   = "closed"
	FieldOOH      = "ooh"
	FieldReopened = "reopened"
	FieldCompound = "compound"
	FieldUrgent   = "urgent"
)

// Field prefixes.
const (
	prefixCat     = "cat:"     // cat:<category>:<urgent|normal>, the home category
	prefixNeed    = "need:"    // need:<category>, every category found
	prefixRoute   = "route:"   // route:<crisis|triaged|unclear>
	prefixCrisis  = "crisis:"  // crisis:<kind>
	prefixPattern = "pattern:" // pattern:<id>
	prefixWait    = "wait:"    // wait:<bucket>
)

// fields are the counters one event adds one to.
func (e Event) fields() []string {
	switch e.Kind {
	case Opened:
		urgency := "normal"
		if e.Urgent {
			urgency = "urgent"
		}
		cat, kind := clean(e.Category), clean(e.CrisisKind)
		if cat == "" {
			cat = "general"
		}
		f := []string{FieldOpened, prefixCat + cat + ":" + urgency, prefixRoute + Route(cat, kind)}
		if e.Urgent {
			f = append(f, FieldUrgent)
		}
		seen := map[string]bool{}
		for _, n := range append([]string{cat}, e.Needs...) {
			if n = clean(n); n != "" && !seen[n] {
				seen[n] = true
				f = append(f, prefixNeed+n)
			}
		}
		var patterns []string
		for _, p := range e.Patterns {
			if p = clean(p); p != "" {
				patterns = append(patterns, prefixPattern+p)
			}
		}
		if len(seen) > 1 || len(patterns) > 0 {
			f = append(f, FieldCompound)
		}
		f = append(f, patterns...)
		if kind != "" {
			f = append(f, prefixCrisis+kind)
		}
		if e.OutOfHours {
			f = append(f, FieldOOH)
		}
		if e.Reopened {
			f = append(f, FieldReopened)
		}
		return f
	case Claimed:
		return []string{FieldClaimed, prefixWait + waitBucket(e.Wait)}
	case Closed:
		return []string{FieldClosed}
	case Crisis:
		if k := clean(e.CrisisKind); k != "" {
			return []string{prefixCrisis + k}
		}
	}
	return nil
}

// clean keeps an id to the characters ids are made of, so that nothing a
// flow or a bug puts there can carry words into the counters.
func clean(id string) string {
	if len(id) > 40 {
		return ""
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.", r)) {
			return ""
		}
	}
	return id
}

// Month is a month as the counters name it: "2026-11", in the city's time zone.
func Month(t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	return t.Format("2006-01")
}

// Key is the Redis key of a month's counters. One hash per month, with the
// month as its hash tag, so that every counter of an event is a HINCRBY on
// one key and Redis Cluster keeps the month in one slot. The key has no
// TTL, on purpose: see docs/statistics.md.
func Key(prefix, month string) string { return prefix + "stats:{" + month + "}" }
