package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/handoff"
)

// The resident's name and number, told in the conversation below.
const (
	residentName  = "山田花子"
	residentPhone = "090-1234-5678"
)

// keyspace is every key under the test's prefix: its type, TTL and values.
type keyspace map[string]struct {
	ttl    time.Duration
	values []string
}

func scanKeys(t *testing.T, rdb redis.UniversalClient, prefix string) keyspace {
	t.Helper()
	ctx := context.Background()
	out := keyspace{}
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		var vals []string
		switch rdb.Type(ctx, k).Val() {
		case "string":
			vals = []string{rdb.Get(ctx, k).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				vals = append(vals, f+"="+v)
			}
		case "set":
			vals = rdb.SMembers(ctx, k).Val()
		case "zset":
			vals = rdb.ZRange(ctx, k, 0, -1).Val()
		case "list":
			vals = rdb.LRange(ctx, k, 0, -1).Val()
		case "stream":
			for _, m := range rdb.XRange(ctx, k, "-", "+").Val() {
				vals = append(vals, fmt.Sprint(m.Values))
			}
		case "none":
			continue // expired meanwhile
		default:
			t.Errorf("key %s of an unexpected type", k)
		}
		out[k] = struct {
			ttl    time.Duration
			values []string
		}{rdb.PTTL(ctx, k).Val(), vals}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertLifetimes fails for a key without a TTL, or one that outlives max.
func assertLifetimes(t *testing.T, keys keyspace, max func(key string) time.Duration) {
	t.Helper()
	if len(keys) == 0 {
		t.Fatal("no keys scanned")
	}
	for k, v := range keys {
		switch {
		case v.ttl < 0:
			t.Errorf("key %s has no lifetime (PTTL %v)", k, v.ttl)
		case v.ttl > max(k):
			t.Errorf("key %s lives %v, more than %v", k, v.ttl.Round(time.Second), max(k))
		}
	}
}

// assertNoWords fails when a Redis value or a Slack message, as last posted
// or updated, holds the resident's name or number.
func assertNoWords(t *testing.T, keys keyspace, st *staffSide) {
	t.Helper()
	for k, v := range keys {
		for _, val := range v.values {
			for _, w := range []string{residentName, residentPhone} {
				if strings.Contains(val, w) {
					t.Errorf("Redis key %s still holds %q", k, w)
				}
			}
		}
	}
	for _, m := range st.fake.Messages() {
		for _, w := range []string{residentName, residentPhone} {
			if strings.Contains(m.Text, w) || strings.Contains(m.Blocks, w) {
				t.Errorf("Slack message %s/%s (updated %d times) still shows %q: %q", m.Channel, m.TS, m.Updates, w, m.Text)
			}
		}
	}
}

// converse runs the conversation both tests share: the resident gives their
// name and number, a crisis hands them to staff, staff answer, the resident
// tells their name and number again (relayed into the thread) and staff
// answer again. It returns the case and its card.
func converse(t *testing.T, r *rig, st *staffSide) (string, string, string) {
	t.Helper()
	r.startWorkers("w", st.svc, nil)
	r.post(textEvent("01JNAME", alice, "rt-1", residentName+"といいます。電話は"+residentPhone+"です"))
	r.eventually("the first answer", func() bool { return len(r.fake.Sent()) == 1 && r.backlog() == 0 })
	r.post(textEvent("01JCRISIS", alice, "rt-2", "もう死にたい"))
	var caseID string
	r.eventually("the case", func() bool {
		rec, _ := r.store.Load(context.Background(), alice)
		caseID = rec.Session.Case
		return caseID != "" && r.backlog() == 0
	})
	home := st.card(caseID)
	if !strings.Contains(home.Blocks, residentPhone) {
		t.Fatalf("the card does not quote the resident's words (the test would prove nothing):\n%s", home.Blocks)
	}
	st.reply(home, "EvREPLY1", "お話を聞かせてください。いまどこにいますか")
	r.eventually("the staff reply pushed", func() bool { return len(r.fake.Calls(linefake.PathPush)) == 1 })
	r.post(textEvent("01JAGAIN", alice, "rt-3", "家にいます。"+residentName+"です。番号は"+residentPhone))
	r.eventually("the words relayed", func() bool { return st.countInThread(home, residentPhone) == 1 })
	st.reply(home, "EvREPLY2", "ありがとうございます。すぐに連絡します")
	r.eventually("the second reply pushed", func() bool { return len(r.fake.Calls(linefake.PathPush)) == 2 })
	return caseID, home.Channel, home.TS
}

// TestEraseLeavesNoWords is issue 11's promise, end to end on real Redis,
// the real Slack handoff and fake LINE and Slack: after a conversation in
// which the resident gave a name and a number, was handed off and erased,
// no Redis value and no Slack message holds those words, the case stays
// anonymous for staff, and every key has a lifetime; closing the case
// afterwards keeps it that way.
func TestEraseLeavesNoWords(t *testing.T) {
	ctx := context.Background()
	const retention = time.Hour
	r := newRig(t, rigOptions{retention: retention})
	st := newStaffSide(t, r, func(c *handoff.Config) { c.Retention = retention })
	caseID, ch, ts := converse(t, r, st)
	home, _ := st.fake.Message(ch, ts)

	r.post(textEvent("01JDELETE", alice, "rt-4", "削除"))
	r.eventually("the delete question", func() bool { return r.backlog() == 0 && len(r.fake.Sent()) >= 4 })
	r.post(textEvent("01JERASE", alice, "rt-5", "消す"))
	r.eventually("the thread told", func() bool { return st.countInThread(home, "相談者が自分のデータを削除しました") == 1 })
	r.eventually("the card redrawn", func() bool {
		m, _ := st.fake.Message(ch, ts)
		return strings.Contains(m.Blocks, "相談者の希望により削除されました")
	})
	if last := r.fake.Sent(); !strings.Contains(fmt.Sprint(last[len(last)-1]), "相談員の記録からも") {
		t.Errorf("the resident was not told what was erased: %v", last[len(last)-1])
	}
	if st.countInThread(home, "（相談者の希望により削除されました）") != 1 {
		t.Errorf("the relayed post was not rewritten: %+v", st.fake.Thread(ch, ts))
	}
	card, _ := st.fake.Message(ch, ts)
	for _, want := range []string{caseID, "緊急", "自殺の危険", "健康・こころ"} {
		if !strings.Contains(card.Blocks, want) {
			t.Errorf("the anonymous card lost %q:\n%s", want, card.Blocks)
		}
	}

	max := func(k string) time.Duration {
		switch {
		case strings.Contains(k, "case:{") || strings.Contains(k, "thread:") || strings.Contains(k, "{handoff}:open") || strings.Contains(k, "{handoff}:unclaimed"):
			return openMax // the case is still open
		case strings.HasSuffix(k, "{handoff}:due"):
			return openMax + retention // the open case's end is scheduled
		}
		return retention
	}
	keys := scanKeys(t, r.rdb, r.env.Prefix)
	assertNoWords(t, keys, st)
	assertLifetimes(t, keys, max)

	st.close(caseID, "trigger-close")
	r.eventually("closed", func() bool { return st.countInThread(home, "がケースを終了しました") == 1 })
	keys = scanKeys(t, r.rdb, r.env.Prefix)
	assertNoWords(t, keys, st)
	assertLifetimes(t, keys, closedMax(retention))
	if n := r.rdb.Exists(ctx, st.prefix+"case:{"+caseID+"}").Val(); n != 1 {
		t.Error("the anonymous case is gone before its retention")
	}
	assertNoPersonalData(t, r.logs.String())
}

// TestEveryKeyHasALifetime runs a whole consultation (name and number, a
// handoff, staff replies, a relay, a close) without erasing: every key the
// service left has a lifetime, none longer than the retention once the case
// is closed.
func TestEveryKeyHasALifetime(t *testing.T) {
	const retention = 2 * time.Hour
	r := newRig(t, rigOptions{retention: retention})
	st := newStaffSide(t, r, func(c *handoff.Config) { c.Retention = retention })
	caseID, ch, ts := converse(t, r, st)
	home, _ := st.fake.Message(ch, ts)
	assertLifetimes(t, scanKeys(t, r.rdb, r.env.Prefix), func(k string) time.Duration {
		switch {
		case strings.Contains(k, "case:{") || strings.Contains(k, "thread:") || strings.Contains(k, "{handoff}:open") || strings.Contains(k, "{handoff}:unclaimed"):
			return openMax
		case strings.HasSuffix(k, "{handoff}:due"):
			return openMax + retention
		}
		return retention
	})
	st.close(caseID, "trigger-close")
	r.eventually("closed", func() bool { return st.countInThread(home, "がケースを終了しました") == 1 })
	r.eventually("the resident told", func() bool {
		rec, _ := r.store.Load(context.Background(), alice)
		return rec.Session.PrevCase == caseID && r.backlog() == 0
	})
	assertLifetimes(t, scanKeys(t, r.rdb, r.env.Prefix), closedMax(retention))
}

// openMax is handoff's default OpenCaseMax.
const openMax = 180 * 24 * time.Hour

// closedMax is the longest a key may live once the case is closed: the
// retention, but for the due set, which still holds the look at the open
// case's end (a case id and a time, nothing the resident said).
func closedMax(retention time.Duration) func(string) time.Duration {
	return func(k string) time.Duration {
		if strings.HasSuffix(k, "{handoff}:due") {
			return openMax + retention
		}
		return retention
	}
}
