package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/bot/redistest"
	"github.com/tsunagu-city/tsunagu/flows"
)

func TestStoreCAS(t *testing.T) {
	ctx := context.Background()
	env := redistest.New(t)
	st := NewRedisStore(env.Client(t), RedisStoreOptions{Prefix: env.Prefix, Secret: []byte("k"), Retention: time.Hour})
	rec, err := st.Load(ctx, "Uabc")
	if err != nil || rec.Version != 0 {
		t.Fatalf("Load empty: %+v, %v", rec, err)
	}
	tests := []struct {
		name    string
		version uint64
		state   string
		wantErr error
		wantV   uint64
	}{
		{"create", 0, "start", nil, 1},
		{"stale create", 0, "x", ErrConflict, 0},
		{"update", 1, "triage", nil, 2},
		{"stale update", 1, "y", ErrConflict, 0},
		{"update again", 2, "handoff", nil, 3},
	}
	for _, tt := range tests {
		r := Record{Session: flows.Session{State: tt.state}, Version: tt.version, Outbox: []byte("ob-" + tt.name)}
		r.see(tt.name, time.Unix(1767225600, 0), time.Hour)
		v, err := st.Save(ctx, "Uabc", r)
		if !errors.Is(err, tt.wantErr) || v != tt.wantV {
			t.Fatalf("%s: Save = %d, %v; want %d, %v", tt.name, v, err, tt.wantV, tt.wantErr)
		}
	}
	rec, err = st.Load(ctx, "Uabc")
	if err != nil || rec.Version != 3 || rec.Session.State != "handoff" || !rec.Seen("update again") || string(rec.Outbox) != "ob-update again" {
		t.Fatalf("Load = %+v, %v", rec, err)
	}
	if other, _ := st.Load(ctx, "Uother"); other.Version != 0 {
		t.Fatalf("another resident sees a record: %+v", other)
	}
}

func TestRedisStoreKeysAndTTL(t *testing.T) {
	ctx := context.Background()
	env := redistest.New(t)
	rdb := env.Client(t)
	st := NewRedisStore(rdb, RedisStoreOptions{Prefix: env.Prefix, Secret: []byte("k"), Retention: 90 * time.Minute})
	user := "U4af4980629e1a3ee4e9f7a1c1b7a1a0f"
	if _, err := st.Save(ctx, user, Record{Session: flows.Session{State: "s", Recent: []string{"相談です"}}}); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keys = %v, want one", keys)
	}
	k := keys[0]
	if strings.Contains(k, user) || !strings.HasPrefix(k, env.Prefix+"{r:") || !strings.HasSuffix(k, "}:session") {
		t.Errorf("key %q: want %s{r:<hmac>}:session without the userId", k, env.Prefix)
	}
	if ttl := rdb.PTTL(ctx, k).Val(); ttl < 89*time.Minute || ttl > 90*time.Minute {
		t.Errorf("TTL = %v, want the retention", ttl)
	}
	if fields := rdb.HKeys(ctx, k).Val(); strings.Join(fields, ",") != "v,d" {
		t.Errorf("fields %v, want v and d only (no outbox when there is nothing to do)", fields)
	}
	// A different secret is a different key: the hash is keyed, not plain.
	if ResidentTag([]byte("k"), user) == ResidentTag([]byte("other"), user) {
		t.Error("ResidentTag ignores its secret")
	}
}

// TestRedisStoreReadsTheOldLayout reads a record an earlier version wrote
// (session JSON, last event, an outbox it never cleared).
func TestRedisStoreReadsTheOldLayout(t *testing.T) {
	ctx := context.Background()
	env := redistest.New(t)
	rdb := env.Client(t)
	st := NewRedisStore(rdb, RedisStoreOptions{Prefix: env.Prefix, Secret: []byte("k")})
	rdb.HSet(ctx, st.key("Uold"), "v", "7", "s", `{"v":1,"s":"triage","k":"ABCDE","h":true}`, "e", "01JOLD", "o", `{"r":[{"Text":"x"}]}`)
	rec, err := st.Load(ctx, "Uold")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 7 || rec.Session.State != "triage" || rec.Session.Case != "ABCDE" || !rec.Seen("01JOLD") || rec.Outbox != nil {
		t.Fatalf("old record read as %+v", rec)
	}
	if _, err := st.Save(ctx, "Uold", rec); err != nil {
		t.Fatal(err)
	}
	if fields := rdb.HKeys(ctx, st.key("Uold")).Val(); strings.Join(fields, ",") != "v,d" {
		t.Errorf("after a save the record has fields %v, want the old ones gone", fields)
	}
}

func TestRedisStoreConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	env := redistest.New(t)
	st := NewRedisStore(env.Client(t), RedisStoreOptions{Prefix: env.Prefix, Secret: []byte("k")})
	const n = 8
	wins := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := st.Save(ctx, "U1", Record{Session: flows.Session{State: fmt.Sprint(i)}})
			wins <- err
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		if err := <-wins; err == nil {
			ok++
		} else if !errors.Is(err, ErrConflict) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent creates won, want exactly 1", ok)
	}
}

// TestSeenEvents covers how a record remembers the events applied to it:
// for LINE's redelivery window, and at most seenCap of them.
func TestSeenEvents(t *testing.T) {
	day := time.Unix(1767225600, 0)
	var r Record
	r.see("old", day, 72*time.Hour)
	r.see("recent", day.Add(48*time.Hour), 72*time.Hour)
	r.see("new", day.Add(96*time.Hour), 72*time.Hour)
	for _, tt := range []struct {
		id   string
		seen bool
	}{{"old", false}, {"recent", true}, {"new", true}, {"never", false}} {
		if got := r.Seen(tt.id); got != tt.seen {
			t.Errorf("Seen(%q) = %v, want %v", tt.id, got, tt.seen)
		}
	}
	for i := range seenCap + 10 {
		r.see(fmt.Sprint("burst-", i), day.Add(100*time.Hour), 72*time.Hour)
	}
	if len(r.seen) != seenCap || r.Seen("burst-9") || !r.Seen("burst-10") || !r.Seen(fmt.Sprint("burst-", seenCap+9)) {
		t.Errorf("after a burst: %d remembered; want the last %d", len(r.seen), seenCap)
	}
}

// TestRecordRoundTrip encodes and decodes a record and an outbox.
func TestRecordRoundTrip(t *testing.T) {
	r := Record{Session: flows.Session{State: "s", Locale: "en", Recent: []string{"a", "é\x00\"<"}, Case: "K1"}}
	r.see("e1", time.Unix(1767225600, 0), time.Hour)
	r.rate = rateState{start: 1767225600, count: 3, noted: true}
	b, err := r.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Record
	if err := got.unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if got.Session.State != "s" || got.Session.Recent[1] != "é\x00\"<" || !got.Seen("e1") || got.rate != r.rate {
		t.Errorf("round trip: %+v", got)
	}
	items := []item{{event: "e1", key: "k", token: "rt", recv: 42, crisis: true,
		replies: []flows.Reply{{Text: "t", QuickReplies: []flows.Choice{{Label: "l", Data: "d"}}}},
		staff:   []staffTask{{op: opEscalate, caseID: "C", key: "k:e", urgent: true, crisis: "suicide", categories: []string{"health"}}}}}
	back, err := unmarshalOutbox(marshalOutbox(items))
	if err != nil || fmt.Sprint(back) != fmt.Sprint(items) {
		t.Errorf("outbox round trip: %+v, %v", back, err)
	}
	for n := range b {
		var x Record
		_ = x.unmarshal(b[:n]) // truncated records fail, never panic
	}
}
