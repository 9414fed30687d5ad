package stats

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
)

var jst = time.FixedZone("JST", 9*3600)

func TestEventFields(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, jst)
	tests := []struct {
		name string
		e    Event
		want []string
	}{
		{"a triaged case", Event{Kind: Opened, At: at, Category: "elderly", Needs: []string{"elderly"}},
			[]string{"opened", "cat:elderly:normal", "route:triaged", "need:elderly"}},
		{"a crisis at night that follows a closed case",
			Event{Kind: Opened, At: at, Category: "health", Urgent: true, CrisisKind: "suicide", OutOfHours: true, Reopened: true},
			[]string{"opened", "cat:health:urgent", "route:crisis", "urgent", "need:health", "crisis:suicide", "ooh", "reopened"}},
		{"nothing found goes to the general team", Event{Kind: Opened, At: at},
			[]string{"opened", "cat:general:normal", "route:unclear", "need:general"}},
		{"8050", Event{Kind: Opened, At: at, Category: "elderly", Needs: []string{"elderly", "isolation"}, Patterns: []string{"8050"}},
			[]string{"opened", "cat:elderly:normal", "route:triaged", "need:elderly", "need:isolation", "compound", "pattern:8050"}},
		{"words never become a field", Event{Kind: Opened, At: at, Category: "死にたい", Needs: []string{"a b"}, Patterns: []string{"x:y"}, CrisisKind: "夫に"},
			[]string{"opened", "cat:general:normal", "route:unclear", "need:general"}},
		{"claimed in 3 minutes", Event{Kind: Claimed, At: at, Wait: 3 * time.Minute}, []string{"claimed", "wait:5m"}},
		{"claimed in exactly an hour", Event{Kind: Claimed, At: at, Wait: time.Hour}, []string{"claimed", "wait:4h"}},
		{"claimed after two days", Event{Kind: Claimed, At: at, Wait: 48 * time.Hour}, []string{"claimed", "wait:more"}},
		{"closed", Event{Kind: Closed, At: at}, []string{"closed"}},
		{"a crisis during a case", Event{Kind: Crisis, At: at, CrisisKind: "dv"}, []string{"crisis:dv"}},
		{"a crisis of no kind counts nothing", Event{Kind: Crisis, At: at}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.fields(); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %q, want %q", got, tt.want)
			}
		})
	}
}

// logCount counts the records logged at warn level or above.
type logCount struct {
	slog.Handler
	n *int
}

func (h logCount) Enabled(context.Context, slog.Level) bool { return true }

func (h logCount) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		*h.n++
	}
	return nil
}

// record writes events through a recorder and returns once they are written:
// Run with an ended context writes what is queued and returns.
func record(t *testing.T, r *Recorder, events ...Event) {
	t.Helper()
	for _, e := range events {
		r.Record(e)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Run(ctx)
}

func TestRecorderWritesOneHashPerMonthWithoutTTL(t *testing.T) {
	env := redistest.New(t)
	rdb := env.Client(t)
	r := NewRecorder(rdb, Options{Prefix: env.Prefix, Location: jst})
	nov := time.Date(2026, 11, 30, 12, 0, 0, 0, jst)
	// 2026-11-30 16:00 UTC is already December in Japan.
	dec := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	record(t, r,
		Event{Kind: Opened, At: nov, Category: "poverty", Needs: []string{"poverty", "housing"}, OutOfHours: true},
		Event{Kind: Opened, At: nov, Category: "poverty"},
		Event{Kind: Claimed, At: nov, Wait: 10 * time.Minute},
		Event{Kind: Opened, At: dec, Category: "violence", Urgent: true, CrisisKind: "dv"},
		Event{Kind: Crisis, At: dec, CrisisKind: "dv"},
		Event{Kind: Closed, At: dec},
	)
	if r.Written() != 6 || r.Dropped() != 0 {
		t.Fatalf("written %d, dropped %d; want 6 and 0", r.Written(), r.Dropped())
	}
	ctx := t.Context()
	got, err := rdb.HGetAll(ctx, env.Prefix+"stats:{2026-11}").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"opened": "2", "cat:poverty:normal": "2", "route:triaged": "2", "need:poverty": "2", "need:housing": "1",
		"compound": "1", "ooh": "1", "claimed": "1", "wait:15m": "1",
	}
	if !mapsEqual(got, want) {
		t.Errorf("November = %v\nwant %v", got, want)
	}
	got, _ = rdb.HGetAll(ctx, env.Prefix+"stats:{2026-12}").Result()
	want = map[string]string{
		"opened": "1", "cat:violence:urgent": "1", "route:crisis": "1", "urgent": "1", "need:violence": "1",
		"crisis:dv": "2", "closed": "1",
	}
	if !mapsEqual(got, want) {
		t.Errorf("December = %v\nwant %v", got, want)
	}
	for _, m := range []string{"2026-11", "2026-12"} {
		if ttl := rdb.TTL(ctx, Key(env.Prefix, m)).Val(); ttl != -1 {
			t.Errorf("%s has TTL %v; statistics must outlive the cases (no TTL)", m, ttl)
		}
	}
	keys, _ := rdb.Keys(ctx, env.Prefix+"*").Result()
	slices.Sort(keys)
	if want := []string{env.Prefix + "stats:{2026-11}", env.Prefix + "stats:{2026-12}"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %q, want only %q", keys, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRecordNeverWaits(t *testing.T) {
	env := redistest.New(t)
	r := NewRecorder(env.Client(t), Options{Prefix: env.Prefix, Buffer: 2})
	for range 5 {
		r.Record(Event{Kind: Closed, At: time.Now()}) // no Run: the queue fills
	}
	if r.Dropped() != 3 {
		t.Errorf("dropped %d, want 3", r.Dropped())
	}
	var nilRecorder *Recorder
	nilRecorder.Record(Event{Kind: Closed}) // a service without statistics
}

func TestRedisDownIsCountedAndSaidOnce(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	warnings := 0
	r := NewRecorder(rdb, Options{Log: slog.New(logCount{slog.DiscardHandler, &warnings})})
	failing := false
	for range 3 {
		r.write(t.Context(), []Event{{Kind: Closed, At: time.Now()}, {Kind: Closed, At: time.Now()}}, &failing)
	}
	if r.Dropped() != 6 || r.Written() != 0 {
		t.Errorf("dropped %d, written %d; want 6 and 0", r.Dropped(), r.Written())
	}
	if warnings != 1 {
		t.Errorf("%d warnings logged, want 1 for the whole run of failures", warnings)
	}
}

func TestMonths(t *testing.T) {
	got, err := Months("2026-04", "2027-03")
	if err != nil || len(got) != 12 || got[0] != "2026-04" || got[8] != "2026-12" || got[9] != "2027-01" || got[11] != "2027-03" {
		t.Errorf("Months = %q, %v", got, err)
	}
	for _, bad := range [][2]string{{"2026-4", "2027-03"}, {"2027-03", "2026-04"}, {"2000-01", "2020-01"}, {"april", "2026-05"}} {
		if _, err := Months(bad[0], bad[1]); err == nil {
			t.Errorf("Months(%q, %q) gave no error", bad[0], bad[1])
		}
	}
}

// fiscalYear writes a year of varied events, as a city would see them.
func fiscalYear(t *testing.T, r *Recorder) {
	t.Helper()
	cats := []string{"elderly", "poverty", "children", "health", "isolation", "general", "violence", "housing"}
	var events []Event
	for m := range 12 {
		start := time.Date(2026, time.Month(4+m), 3, 10, 0, 0, 0, jst)
		n := 14 + (m*7)%11
		for i := range n {
			cat := cats[(i*3+m)%len(cats)]
			e := Event{Kind: Opened, At: start.Add(time.Duration(i) * 20 * time.Hour), Category: cat, Needs: []string{cat}, OutOfHours: i%3 == 0}
			switch {
			case cat == "violence":
				e.Urgent, e.CrisisKind = true, "dv"
			case i%9 == 4:
				e.Urgent, e.CrisisKind = true, "suicide"
			case i%11 == 5:
				e.Urgent = true
			}
			if cat == "elderly" && i%2 == 0 {
				e.Needs, e.Patterns = []string{"elderly", "isolation"}, []string{"8050"}
			}
			events = append(events, e,
				Event{Kind: Claimed, At: e.At.Add(time.Hour), Wait: []time.Duration{2 * time.Minute, 9 * time.Minute, 40 * time.Minute, 2 * time.Hour, 10 * time.Hour, 30 * time.Hour}[(i+m)%6]})
			if i%2 == 1 {
				events = append(events, Event{Kind: Closed, At: e.At.Add(48 * time.Hour)})
			}
		}
		events = append(events, Event{Kind: Crisis, At: start, CrisisKind: []string{"self_harm", "child_abuse", "medical"}[m%3]})
	}
	record(t, r, events...)
}

var testLabels = Labels{
	Categories: []Label{{"elderly", "高齢・介護"}, {"disability", "障害"}, {"children", "子ども・子育て"}, {"poverty", "生活困窮・お金"},
		{"housing", "住まい"}, {"work", "仕事"}, {"health", "健康・医療・こころ"}, {"isolation", "孤立・ひきこもり"},
		{"violence", "DV・虐待"}, {"foreign", "外国人・多文化"}, {"legal", "法律・消費者"}, {"general", "よろず相談"}},
	Crises:   []Label{{"suicide", "自殺の危険"}, {"self_harm", "自傷"}, {"child_abuse", "子どもの虐待"}, {"dv", "DV"}, {"medical", "医療の緊急"}},
	Patterns: []Label{{"8050", "8050問題"}, {"double_care", "ダブルケア"}},
}

func readYear(t *testing.T) *Report {
	t.Helper()
	env := redistest.New(t)
	rdb := env.Client(t)
	fiscalYear(t, NewRecorder(rdb, Options{Prefix: env.Prefix, Location: jst}))
	months, err := Months("2026-04", "2027-03")
	if err != nil {
		t.Fatal(err)
	}
	mc, err := Read(t.Context(), rdb, env.Prefix, months)
	if err != nil {
		t.Fatal(err)
	}
	return NewReport(mc, testLabels)
}

func TestReportTableAndCSV(t *testing.T) {
	rep := readYear(t)
	opened := rep.Row("opened")
	var sum int64
	for _, s := range rep.Sections {
		if s.ID == "category" {
			for _, r := range s.Rows {
				sum += r.Total
			}
		}
	}
	if opened.Total == 0 || sum != opened.Total {
		t.Errorf("categories sum to %d, cases opened %d: every case has one home category", sum, opened.Total)
	}
	if got := rep.Row("crisis:dv").Total; got != rep.Row("cat:violence:urgent").Total {
		t.Errorf("dv crises %d, urgent violence cases %d", got, rep.Row("cat:violence:urgent").Total)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	for _, want := range []string{"■ 相談件数", "■ 危機の種類", "■ 担当が決まるまでの時間", "高齢・介護", "8050問題", "2026-04", "2027-03", "合計", "時間外の割合"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Columns line up by display width, Japanese names included.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "新規の相談") {
			if displayWidth(l) != displayWidth(lines[i-1]) {
				t.Errorf("rows of one table differ in width:\n%s\n%s", lines[i-1], l)
			}
		}
	}
	var csv bytes.Buffer
	if err := rep.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if rows[0] != "section,区分,key,項目,2026-04,2026-05,2026-06,2026-07,2026-08,2026-09,2026-10,2026-11,2026-12,2027-01,2027-02,2027-03,合計" {
		t.Errorf("CSV header = %s", rows[0])
	}
	if !slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, "cases,相談件数,opened,新規の相談,14,") }) {
		t.Errorf("CSV has no opened row starting with April's 14 cases:\n%s", csv.String())
	}
}

func TestNewReportKeepsUnknownIDs(t *testing.T) {
	rep := NewReport([]MonthCounts{{Month: "2026-04", Counts: Counts{"opened": 1, "cat:retired:normal": 1, "crisis:newkind": 2}}}, testLabels)
	if r := rep.Row("cat:retired"); r.Total != 1 || r.Label != "retired" {
		t.Errorf("a category gone from the flow: %+v", r)
	}
	if r := rep.Row("crisis:newkind"); r.Total != 2 {
		t.Errorf("an unnamed crisis kind: %+v", r)
	}
	if got := rep.Row("ooh_share").Cell(0); got != "0.0%" {
		t.Errorf("share with no out-of-hours cases = %q", got)
	}
	empty := NewReport([]MonthCounts{{Month: "2026-04", Counts: Counts{}}}, testLabels)
	if got := empty.Row("ooh_share").Cell(0); got != "-" {
		t.Errorf("share of nothing = %q, want -", got)
	}
}

func TestAxisTicks(t *testing.T) {
	for _, tt := range []struct{ v, top, step float64 }{
		{0, 1, 1}, {1, 1, 1}, {3, 3, 1}, {24, 25, 5}, {50, 50, 10}, {51, 60, 20}, {223, 250, 50}, {350, 400, 100}, {1000, 1000, 200},
	} {
		top, step := axisTicks(tt.v)
		if top != tt.top || step != tt.step {
			t.Errorf("axisTicks(%v) = %v, %v; want %v, %v", tt.v, top, step, tt.top, tt.step)
		}
	}
}
