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

func stores(t *testing.T) map[string]SessionStore {
	env := redistest.New(t)
	return map[string]SessionStore{
		"redis":  NewRedisStore(env.Client(t), RedisStoreOptions{Prefix: env.Prefix, Secret: []byte("k"), Retention: time.Hour}),
		"memory": NewMemoryStore(),
	}
}

func TestStoreCAS(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
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
				v, err := st.Save(ctx, "Uabc", Record{Session: flows.Session{State: tt.state}, Version: tt.version, Event: tt.name, Outbox: []byte(`{"r":[]}`)})
				if !errors.Is(err, tt.wantErr) || v != tt.wantV {
					t.Fatalf("%s: Save = %d, %v; want %d, %v", tt.name, v, err, tt.wantV, tt.wantErr)
				}
			}
			rec, err = st.Load(ctx, "Uabc")
			if err != nil || rec.Version != 3 || rec.Session.State != "handoff" || rec.Event != "update again" || string(rec.Outbox) != `{"r":[]}` {
				t.Fatalf("Load = %+v, %v", rec, err)
			}
			if other, _ := st.Load(ctx, "Uother"); other.Version != 0 {
				t.Fatalf("another resident sees a record: %+v", other)
			}
			if err := st.Delete(ctx, "Uabc"); err != nil {
				t.Fatal(err)
			}
			if rec, _ = st.Load(ctx, "Uabc"); rec.Version != 0 || rec.Session.State != "" {
				t.Fatalf("after Delete: %+v", rec)
			}
		})
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
	// A different secret is a different key: the hash is keyed, not plain.
	if ResidentTag([]byte("k"), user) == ResidentTag([]byte("other"), user) {
		t.Error("ResidentTag ignores its secret")
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

func ExampleMemoryStore() {
	ctx := context.Background()
	st := NewMemoryStore()
	rec, _ := st.Load(ctx, "U1")
	rec.Session.State = "start"
	v, _ := st.Save(ctx, "U1", rec)
	_, err := st.Save(ctx, "U1", rec) // rec.Version is stale now
	fmt.Println(v, errors.Is(err, ErrConflict))
	// Output: 1 true
}
