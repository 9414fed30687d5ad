package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/config"
	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/handoff"
	"github.com/tsunagu-city/tsunagu/stats"
)

const statsUsage = `usage: tsunagu stats [--from 2026-04] [--to 2027-03] [--csv | --html FILE] [--flow PATH]

Prints the anonymous monthly statistics (cases by category and urgency, how
they came, crises by kind, out-of-hours share, time to claim) for the
重層的支援会議. The months default to this fiscal year (April to now).
Redis is found as serve finds it (REDIS_URL or the Sentinel/Cluster settings,
TSUNAGU_KEY_PREFIX); no LINE or Slack secret is needed. Names of categories
come from the flow (--flow, TSUNAGU_FLOW, or the embedded default).

`

func runStats(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return statsCommand(ctx, args, os.Getenv, time.Now(), stdout, stderr)
}

// statsCommand is runStats with its environment and clock given.
func statsCommand(ctx context.Context, args []string, getenv func(string) string, now time.Time, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("stats", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, statsUsage)
		fset.PrintDefaults()
	}
	from, to := fiscalYear(now)
	fset.StringVar(&from, "from", from, "first month, like 2026-04")
	fset.StringVar(&to, "to", to, "last month, like 2027-03")
	asCSV := fset.Bool("csv", false, "print CSV instead of a table")
	htmlFile := fset.String("html", "", "write a one-file HTML report with charts (A4, Japanese) to `FILE`")
	flowPath := fset.String("flow", "", "flow file or folder whose names the report uses (default: TSUNAGU_FLOW or the embedded flow)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if fset.NArg() > 0 || (*asCSV && *htmlFile != "") {
		fset.Usage()
		return 2
	}
	months, err := stats.Months(from, to)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 2
	}
	cfg, err := config.FromEnvFor(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 2
	}
	if *flowPath == "" {
		*flowPath = cfg.FlowPath
	}
	flow, err := loadFlow(*flowPath)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 1
	}
	opts, err := cfg.RedisOptions()
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 2
	}
	rdb := redis.NewUniversalClient(opts)
	defer rdb.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	counts, err := stats.Read(rctx, rdb, cfg.KeyPrefix, months)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 1
	}
	rep := stats.NewReport(counts, statsLabels(flow))
	switch {
	case *htmlFile != "":
		err = writeFileAtomic(*htmlFile, func(w io.Writer) error {
			return rep.WriteHTML(w, stats.HTMLOptions{Title: flow.Name, Made: now})
		})
		if err == nil {
			fmt.Fprintf(stdout, "wrote %s (%s)\n", *htmlFile, months[0]+" – "+months[len(months)-1])
		}
	case *asCSV:
		err = rep.WriteCSV(stdout)
	default:
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu stats: %v\n", err)
		return 1
	}
	return 0
}

// fiscalYear is the Japanese fiscal year (April to March) so far: its
// first month and the current one, in Japan.
func fiscalYear(now time.Time) (string, string) {
	now = now.In(time.FixedZone("JST", 9*3600))
	y := now.Year()
	if now.Month() < time.April {
		y--
	}
	return fmt.Sprintf("%d-04", y), now.Format("2006-01")
}

// statsLabels are the flow's names for categories, patterns and crisis kinds.
func statsLabels(f *flows.Flow) stats.Labels {
	var l stats.Labels
	for _, c := range f.Categories {
		l.Categories = append(l.Categories, stats.Label{ID: c.ID, Name: c.Name.In("ja", f.Locale())})
	}
	for _, p := range f.Patterns {
		l.Patterns = append(l.Patterns, stats.Label{ID: p.ID, Name: p.Name.In("ja", f.Locale())})
	}
	seen := map[string]bool{}
	for _, r := range f.Crisis.Rules {
		if !seen[r.Kind] {
			seen[r.Kind] = true
			l.Crises = append(l.Crises, stats.Label{ID: r.Kind, Name: handoff.CrisisName(r.Kind)})
		}
	}
	return l
}

// writeFileAtomic writes a file through a temporary one beside it, so a
// failed write never leaves half a report where the last one was.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tsunagu-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
