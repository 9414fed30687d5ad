package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// loseReadReply is a go-redis hook that, once armed, lets the next read of
// new entries run in Redis and then loses its answer, as a connection cut
// or a master killed right after the command would: Redis has handed the
// entries to the consumer, the consumer never saw them.
type loseReadReply struct{ armed atomic.Bool }

func (h *loseReadReply) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *loseReadReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *loseReadReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if r, ok := c.(*redis.XStreamSliceCmd); ok && c.Name() == "xreadgroup" && len(r.Val()) > 0 && h.armed.CompareAndSwap(true, false) {
				lost := errors.New("read tcp: connection reset by peer")
				c.SetErr(lost)
				return lost
			}
		}
		return err
	}
}

// TestReadAnswerLost: a read that ran in Redis but whose answer never came
// back leaves its entries pending for this very worker; it reads its
// pending entries again, and the resident is answered (before, they waited
// for the next change of shard owner, which with a healthy worker never
// comes).
func TestReadAnswerLost(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	hook := &loseReadReply{}
	r.rdb.AddHook(hook)
	r.workers("w", nil)
	if got := r.post(textEvent("01JREADBEFORE", alice, "rt-before", "こんにちは")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the first answer", func() bool { return len(r.fake.Sent()) == 1 })

	hook.armed.Store(true)
	if got := r.post(textEvent("01JREADLOST", alice, "rt-lost", "家賃が払えなくて")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the answer to the event whose read was lost", func() bool {
		for _, c := range r.fake.Sent() {
			if c.ReplyToken == "rt-lost" {
				return true
			}
		}
		return false
	})
	if hook.armed.Load() {
		t.Fatal("the read was never lost: the test proved nothing")
	}
}
