package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Slots as `CLUSTER KEYSLOT` on Redis 7.0 gives them.
func TestSlot(t *testing.T) {
	for key, want := range map[string]int{
		"foo": 12182, "bar": 5061, "{user1000}.following": 3443, "tsunagu:{in:3}:events": 1697,
		"a{}b": 13694, "{}{x}": 3257, "x{y": 2740,
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestSlotCheck: what a cluster refuses is refused on a single node too,
// before it is sent; what it takes passes.
func TestSlotCheck(t *testing.T) {
	rdb := New(t).Client(t)
	ctx := context.Background()
	script := redis.NewScript(`return #KEYS`)
	tests := []struct {
		name string
		run  func() error
		ok   bool
	}{
		{"script, one tag", func() error { return script.Run(ctx, rdb, []string{"t:{a}:x", "t:{a}:y"}).Err() }, true},
		{"script, two slots", func() error { return script.Run(ctx, rdb, []string{"t:{a}:x", "t:{b}:y"}).Err() }, false},
		{"mget, two slots", func() error { return rdb.MGet(ctx, "t:{a}:x", "t:{b}:x").Err() }, false},
		{"del, one tag", func() error { return rdb.Del(ctx, "t:{a}:x", "t:{a}:y").Err() }, true},
		{"pipeline across slots", func() error {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "t:{a}:x", 1, 0)
				p.Set(ctx, "t:{b}:x", 1, 0)
				return nil
			})
			return err
		}, true},
		{"transaction across slots", func() error {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "t:{a}:x", 1, 0)
				p.Set(ctx, "t:{b}:x", 1, 0)
				return nil
			})
			return err
		}, false},
		{"transaction, one tag", func() error {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "t:{a}:x", 1, 0)
				p.Set(ctx, "t:{a}:y", 1, 0)
				return nil
			})
			return err
		}, true},
	}
	for _, tt := range tests {
		err := tt.run()
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "CROSSSLOT")) {
			t.Errorf("%s: error %v, want a CROSSSLOT refusal", tt.name, err)
		}
	}
}
