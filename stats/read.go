package stats

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Counts are one month's counters, by field.
type Counts map[string]int64

// MonthCounts is a month and its counters.
type MonthCounts struct {
	// Month is "2026-11".
	Month  string
	Counts Counts
}

// ParseMonth reads "2026-04" as the first day of that month.
func ParseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a month like 2026-04", s)
	}
	return t, nil
}

// Months lists the months from from to to, both included ("2026-04" …
// "2027-03"). At most 120 months are listed: a report of ten years is
// already more than a meeting reads.
func Months(from, to string) ([]string, error) {
	f, err := ParseMonth(from)
	if err != nil {
		return nil, err
	}
	t, err := ParseMonth(to)
	if err != nil {
		return nil, err
	}
	if t.Before(f) {
		return nil, fmt.Errorf("the last month %s comes before the first %s", to, from)
	}
	var out []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		if len(out) == 120 {
			return nil, fmt.Errorf("%s to %s is more than 120 months", from, to)
		}
		out = append(out, m.Format("2006-01"))
	}
	return out, nil
}

// Read loads the counters of the months given, in one pipeline of HGETALLs
// (one key each, so it works on Redis Cluster too). A month with nothing
// counted has empty Counts.
func Read(ctx context.Context, rdb redis.UniversalClient, prefix string, months []string) ([]MonthCounts, error) {
	cmds := make([]*redis.MapStringStringCmd, len(months))
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range months {
			cmds[i] = p.HGetAll(ctx, Key(prefix, m))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read statistics: %w", err)
	}
	out := make([]MonthCounts, len(months))
	for i, m := range months {
		c := Counts{}
		for f, v := range cmds[i].Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("read statistics: %s field %s is %q, not a count", Key(prefix, m), f, v)
			}
			c[f] = n
		}
		out[i] = MonthCounts{Month: m, Counts: c}
	}
	return out, nil
}
