package main

import (
	"cmp"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

type edgeResult struct {
	uploads, refused   int
	rssBefore, rssPeak int64
	idleClosed         int
	slowCut            int
}

// report is everything the benchmark measured.
type report struct {
	started             time.Time
	setBefore, setAfter float64
	saturation, paced   *measured
	flood               *flood
	idle                idleResult
	residents           int64
	memBase, memAfter   float64
	memory              map[string]*memClass
	rssIdle             int64
	edge                *edgeResult
	lineRepeats, extra  int64
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s)-1) + 0.5)
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// steady is the saturated answer rate over the middle of the run.
func (m *measured) steady() float64 {
	secs := int(m.ph.perSecondSpan())
	if secs < 4 {
		return float64(m.ph.answered.Load()) / m.dur.Seconds()
	}
	return m.ph.rate(1, secs-1)
}

// perSecondSpan is how many whole seconds of answers the phase has.
func (p *phase) perSecondSpan() int {
	n := 0
	for i := range p.perSecond {
		if p.perSecond[i].Load() > 0 {
			n = i + 1
		}
	}
	return n
}

func (r *report) setBaseline() float64 { return (r.setBefore + r.setAfter) / 2 }

type verdict struct {
	what string
	ok   bool
}

func (r *report) verdicts() []verdict {
	var v []verdict
	s := r.saturation
	v = append(v, verdict{fmt.Sprintf("≥ 5,000 answered events/s sustained, nothing lost (%.0f/s, %d lost)",
		s.steady(), s.ph.expected.Load()-s.ph.answered.Load()), s.steady() >= 5000 && s.ph.expected.Load() == s.ph.answered.Load()})
	p := r.paced
	v = append(v, verdict{fmt.Sprintf("at 2,000/s: ack p99 ≤ 10 ms (%s), end-to-end p99 ≤ 50 ms (%s)", ms(pct(p.ph.ack, 99)), ms(pct(p.ph.e2e, 99))),
		pct(p.ph.ack, 99) <= 10*time.Millisecond && pct(p.ph.e2e, 99) <= 50*time.Millisecond})
	if f := r.flood; f != nil {
		v = append(v, verdict{fmt.Sprintf("crisis answers under the flood: p99 ≤ 1 s (%s, %d of %d answered)", ms(pct(f.crisis.e2e, 99)), f.crisis.answered.Load(), crises),
			pct(f.crisis.e2e, 99) <= time.Second && f.crisis.answered.Load() == crises})
	}
	per := r.perResident()
	v = append(v, verdict{fmt.Sprintf("≤ 1 KB of Redis per idle resident (%.0f B)", per), per <= 1024})
	v = append(v, verdict{fmt.Sprintf("idle server ≤ 100 Redis commands/s (%.1f/s)", r.idle.redisCmdsPerSec), r.idle.redisCmdsPerSec <= 100})
	if e := r.edge; e != nil {
		v = append(v, verdict{fmt.Sprintf("%d stalled 1 MiB uploads keep RSS < 300 MB (peak %s)", e.uploads, mb(e.rssPeak)), e.rssPeak < 300<<20})
		v = append(v, verdict{fmt.Sprintf("idle connections closed after IdleTimeout (%d of 500)", e.idleClosed), e.idleClosed == 500})
		v = append(v, verdict{fmt.Sprintf("slow bodies cut after ReadTimeout (%d of 100)", e.slowCut), e.slowCut == 100})
	}
	return v
}

func (r *report) ok() bool {
	for _, v := range r.verdicts() {
		if !v.ok {
			return false
		}
	}
	return true
}

// perResident is Redis memory per resident once idle: what the run added,
// spread over the residents it created.
func (r *report) perResident() float64 {
	if r.residents == 0 {
		return 0
	}
	return (r.memAfter - r.memBase) / float64(r.residents)
}

func (r *report) print(w io.Writer, sv *serveProc, out string) {
	base := r.setBaseline()
	fmt.Fprintf(w, "\ntsunagu bench — %s; %s, %d cores; %s\n", r.started.Format("2006-01-02 15:04"), cpuModel(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "load generator, fake LINE and fake Slack run in this process, on the same machine as serve and Redis\n\n")
	fmt.Fprintf(w, "baseline  redis-benchmark SET: %.0f/s before, %.0f/s after (mean %.0f/s)\n\n", r.setBefore, r.setAfter, base)

	s := r.saturation
	ans := s.ph.answered.Load()
	fmt.Fprintf(w, "saturated  %.0f answered events/s steady (%.2f%% of SET/s); %d events sent, %d answered, %d lost, %d failed\n",
		s.steady(), 100*s.steady()/base, s.ph.sent.Load(), ans, s.ph.expected.Load()-ans, s.ph.failed.Load())
	fmt.Fprintf(w, "           ack p50 %s p99 %s; end-to-end p50 %s p99 %s (saturated: queueing)\n",
		ms(pct(s.ph.ack, 50)), ms(pct(s.ph.ack, 99)), ms(pct(s.ph.e2e, 50)), ms(pct(s.ph.e2e, 99)))
	if ans > 0 {
		fmt.Fprintf(w, "           per answered event: %.2f Redis round trips, %.1f commands (Redis counted %.1f), %.0f bytes on the Redis wire\n",
			s.roundTrips/float64(ans), s.commands/float64(ans), s.redisCmds/float64(ans), s.redisBytes/float64(ans))
	}
	if ans > 0 {
		fmt.Fprintf(w, "           CPU per answered event: serve %.0f µs, redis-server %.0f µs, this benchmark (senders, fake LINE and Slack) %.0f µs; %.2f of %d cores busy\n",
			float64(s.cpu.Microseconds())/float64(ans), float64(s.redisCPU.Microseconds())/float64(ans),
			float64(s.benchCPU.Microseconds())/float64(ans), (s.cpu+s.redisCPU+s.benchCPU).Seconds()/s.dur.Seconds(), runtime.NumCPU())
	}
	fmt.Fprintf(w, "           serve RSS peak %s\n", mb(s.rssPeak))

	p := r.paced
	pans := p.ph.answered.Load()
	fmt.Fprintf(w, "\npaced      %d events offered over %.0fs (%.0f/s): %d answered, %d lost\n",
		p.ph.sent.Load(), p.dur.Seconds(), float64(p.ph.sent.Load())/max(p.dur.Seconds()-0.5, 1), pans, p.ph.expected.Load()-pans)
	fmt.Fprintf(w, "           ack p50 %s p90 %s p99 %s max %s; end-to-end p50 %s p90 %s p99 %s max %s (from when each event was due)\n",
		ms(pct(p.ph.ack, 50)), ms(pct(p.ph.ack, 90)), ms(pct(p.ph.ack, 99)), ms(pct(p.ph.ack, 100)),
		ms(pct(p.ph.e2e, 50)), ms(pct(p.ph.e2e, 90)), ms(pct(p.ph.e2e, 99)), ms(pct(p.ph.e2e, 100)))
	if pans > 0 {
		fmt.Fprintf(w, "           per answered event: %.2f Redis round trips, %.1f commands, %.0f µs of serve CPU\n",
			p.roundTrips/float64(pans), p.commands/float64(pans), float64(p.cpu.Microseconds())/float64(pans))
	}

	if f := r.flood; f != nil {
		fmt.Fprintf(w, "\nflood      %d residents × %d messages into their case threads (4 channels, Slack paced at 1 post/s per channel); %d crises meanwhile\n",
			f.flooders, floodMessages, crises)
		fmt.Fprintf(w, "           crisis answers on LINE: p50 %s p99 %s max %s; %d of %d carried the emergency numbers\n",
			ms(pct(f.crisis.e2e, 50)), ms(pct(f.crisis.e2e, 99)), ms(pct(f.crisis.e2e, 100)), f.numbers.Load(), crises)
		fmt.Fprintf(w, "           crisis cards in Slack: %d of %d, p50 %s max %s after the resident wrote\n",
			f.cardsFound, crises, ms(pct(f.cardLat, 50)), ms(pct(f.cardLat, 100)))
		fmt.Fprintf(w, "           flood messages in their threads: %d of %d, in %d posts (merged), all there %.1fs after the flood began\n",
			f.delivered, f.messages, f.posts, f.waited.Seconds())
		fmt.Fprintf(w, "           gentle notes: %d (one per fast writer); staff replies delivered: %d of %d\n", f.notes.Load(), f.staffGot, f.staffSent)
	}

	fmt.Fprintf(w, "\nidle       Redis commands: %.1f/s; serve round trips: %.1f/s; serve RSS %s\n", r.idle.redisCmdsPerSec, r.idle.roundTripsPerSec, mb(r.rssIdle))
	fmt.Fprintf(w, "memory     Redis +%.1f MB for %d residents: %.0f B per resident (used_memory)\n",
		(r.memAfter-r.memBase)/(1<<20), r.residents, r.perResident())
	var classes []string
	for k := range r.memory {
		classes = append(classes, k)
	}
	slices.SortFunc(classes, func(a, b string) int { return cmp.Compare(r.memory[b].bytes, r.memory[a].bytes) })
	for _, k := range classes {
		c := r.memory[k]
		fmt.Fprintf(w, "           %-34s %7d keys, %6.0f B each (MEMORY USAGE), %5.0f B per resident\n", k, c.keys,
			float64(c.bytes)/float64(c.keys), float64(c.bytes)/float64(max(r.residents, 1)))
	}
	if e := r.edge; e != nil {
		fmt.Fprintf(w, "\nedge       %d stalled 1 MiB uploads: %d refused at once (503: body budget spent); serve RSS %s before, peak %s while they hung\n",
			e.uploads, e.refused, mb(e.rssBefore), mb(e.rssPeak))
		fmt.Fprintf(w, "           idle keep-alive connections closed by serve within IdleTimeout (5s) + 4s: %d of 500\n", e.idleClosed)
		fmt.Fprintf(w, "           slow bodies cut within ReadTimeout (5s) + 4s: %d of 100\n", e.slowCut)
	}
	fmt.Fprintf(w, "\nrepeats    answers LINE refused as repeats (reply token spent, retry key seen): %d; answers to events no longer waiting: %d\n", r.lineRepeats, r.extra)

	fmt.Fprintf(w, "\ndone when:\n")
	for _, v := range r.verdicts() {
		mark := "✓"
		if !v.ok {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, v.what)
	}
	for _, prof := range []struct{ file, when string }{{"cpu.pprof", "saturated"}, {"cpu-paced.pprof", "at the paced rate"}} {
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", sv.binary, out+"/"+prof.file).Output()
		if err != nil {
			continue
		}
		lines := strings.Split(string(top), "\n")
		fmt.Fprintf(w, "\nserve CPU profile %s (%s/%s):\n", prof.when, out, prof.file)
		for _, l := range lines[min(4, len(lines)):] {
			if l != "" {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
}
