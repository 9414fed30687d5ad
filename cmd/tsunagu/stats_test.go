package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/stats"
)

func TestStatsCommand(t *testing.T) {
	env := redistest.New(t)
	rdb := env.Client(t)
	jst := time.FixedZone("JST", 9*3600)
	rec := stats.NewRecorder(rdb, stats.Options{Prefix: env.Prefix, Location: jst})
	at := time.Date(2026, 5, 12, 21, 0, 0, 0, jst)
	for _, e := range []stats.Event{
		{Kind: stats.Opened, At: at, Category: "elderly", Needs: []string{"elderly", "isolation"}, Patterns: []string{"8050"}},
		{Kind: stats.Opened, At: at, Category: "health", Urgent: true, CrisisKind: "suicide", OutOfHours: true},
		{Kind: stats.Claimed, At: at, Wait: 3 * time.Minute},
	} {
		rec.Record(e)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec.Run(ctx) // writes what was recorded, then returns
	getenv := func(name string) string {
		return map[string]string{"REDIS_URL": env.URL, "TSUNAGU_KEY_PREFIX": env.Prefix}[name]
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, jst)
	run := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := statsCommand(t.Context(), args, getenv, now, &out, &errs)
		return code, out.String(), errs.String()
	}

	code, out, errs := run()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"2026-04", "2026-11", "高齢・介護", "自殺の危険", "8050問題", "時間外の割合"} {
		if !strings.Contains(out, want) {
			t.Errorf("the fiscal year's table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "2026-12") {
		t.Errorf("the table goes past this month:\n%s", out)
	}

	code, out, _ = run("--from", "2026-05", "--to", "2026-05", "--csv")
	if code != 0 || !strings.Contains(out, "cases,相談件数,opened,新規の相談,2,2\n") || !strings.Contains(out, "crisis,危機の種類,crisis:suicide,自殺の危険,1,1\n") {
		t.Errorf("CSV (exit %d):\n%s", code, out)
	}

	file := filepath.Join(t.TempDir(), "report.html")
	if code, _, errs := run("--from", "2026-04", "--to", "2027-03", "--html", file); code != 0 {
		t.Fatalf("--html: exit %d: %s", code, errs)
	}
	page, err := os.ReadFile(file)
	if err != nil || !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte("〇〇市")) {
		t.Errorf("HTML report: %v, %d bytes", err, len(page))
	}

	for _, bad := range [][]string{{"--from", "2026-4"}, {"--from", "2027-01", "--to", "2026-12"}, {"--csv", "--html", file}, {"extra"}} {
		if code, _, errs := run(bad...); code != 2 || errs == "" {
			t.Errorf("%q: exit %d, %q; want 2 and a message", bad, code, errs)
		}
	}
}

func TestFiscalYear(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	for _, tt := range []struct {
		now      time.Time
		from, to string
	}{
		{time.Date(2026, 11, 25, 0, 0, 0, 0, jst), "2026-04", "2026-11"},
		{time.Date(2027, 2, 1, 0, 0, 0, 0, jst), "2026-04", "2027-02"},
		{time.Date(2026, 4, 1, 0, 0, 0, 0, jst), "2026-04", "2026-04"},
		{time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC), "2026-04", "2026-04"}, // already April 1 in Japan
	} {
		if from, to := fiscalYear(tt.now); from != tt.from || to != tt.to {
			t.Errorf("fiscalYear(%v) = %s, %s; want %s, %s", tt.now, from, to, tt.from, tt.to)
		}
	}
}
