package flows

import (
	"slices"
	"testing"
	"time"
)

func TestParseOpen(t *testing.T) {
	tests := []struct {
		in       string
		days     uint8
		from, to int
		bad      bool
	}{
		{in: "00:00-24:00", from: 0, to: 24 * 60},
		{in: "10:00-22:00", from: 600, to: 1320},
		{in: "mon-fri 08:30-17:15", days: 0b0111110, from: 510, to: 1035},
		{in: "sat 10:00-12:00", days: 0b1000000, from: 600, to: 720},
		{in: "fri-mon 18:00-20:00", days: 1<<5 | 1<<6 | 1<<0 | 1<<1, from: 1080, to: 1200},
		{in: "22:00-06:00", bad: true},
		{in: "weekdays 08:30-17:15", bad: true},
		{in: "mon-fri", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := parseOpen(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseOpen(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.days != tt.days || got.from != tt.from || got.to != tt.to {
			t.Errorf("parseOpen(%q) = %+v, %v; want days %b %d-%d", tt.in, got, err, tt.days, tt.from, tt.to)
		}
	}
}

func FuzzParseOpen(f *testing.F) {
	for _, s := range []string{"00:00-24:00", "mon-fri 08:30-17:15", "sun 1:00-2:00", "x y z", "- -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOpen(s)
		if err == nil && (o.from < 0 || o.to > 24*60 || o.from >= o.to || o.days >= 1<<7) {
			t.Errorf("parseOpen(%q) = %+v without an error", s, o)
		}
	})
}

// TestCrisisNumbersFollowTheClock: the lines closed at the hour are left
// out, and a child gets the children's line.
func TestCrisisNumbersFollowTheClock(t *testing.T) {
	f, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rule := f.Crisis.Rules[f.ruleOfKind("suicide")]
	jst := time.FixedZone("JST", 9*3600)
	tests := []struct {
		at    time.Time
		young bool
		first []string
	}{
		{time.Date(2026, 11, 25, 11, 0, 0, 0, jst), false, []string{"119", "inochi"}},
		{time.Date(2026, 11, 25, 23, 40, 0, 0, jst), false, []string{"119", "yorisoi"}},
		{time.Date(2026, 11, 26, 3, 0, 0, 0, jst), true, []string{"119", "kodomo_sos"}},
	}
	for _, tt := range tests {
		st := &step{f: f, in: Input{Now: tt.at}}
		st.s.Young = tt.young
		got := st.crisisNumbers(rule)
		if len(got) < 2 || got[0] != tt.first[0] || got[1] != tt.first[1] {
			t.Errorf("at %s young %v: numbers %v, want %v first", tt.at.Format(time.Kitchen), tt.young, got, tt.first)
		}
		for _, n := range f.Crisis.Numbers {
			if slices.Contains(got, n.ID) && f.availability(n, tt.at) == lineClosed {
				t.Errorf("at %s: %s is closed and still given", tt.at.Format(time.Kitchen), n.ID)
			}
		}
	}
}

// TestClosedLinesStayWhenTooFewAreOpen: with fewer than two lines open,
// the closed ones are kept, after the open one, so the answer is never bare.
func TestClosedLinesStayWhenTooFewAreOpen(t *testing.T) {
	f, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	rule := f.Crisis.Rules[f.ruleOfKind("suicide")]
	rule.Numbers = []string{"inochi_free", "119", "inochi"}
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.FixedZone("JST", 9*3600))
	got := (&step{f: f, in: Input{Now: at}}).crisisNumbers(rule)
	if want := []string{"119", "inochi_free", "inochi"}; !slices.Equal(got, want) {
		t.Errorf("numbers %v, want %v", got, want)
	}
}
