package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SlotCheck is a go-redis hook that fails, before it is sent, any command a
// Redis Cluster would refuse with CROSSSLOT: a Lua script, a MULTI/EXEC
// block or a multi-key command whose keys are not all in one hash slot. A
// single redis-server runs such commands happily; with the hook on the
// tests' clients, every test is also a check that the code would run on a
// cluster. Pipelines may span slots and are not checked, only the
// transactions inside them.
type SlotCheck struct{}

var _ redis.Hook = SlotCheck{}

// DialHook leaves dialling alone.
func (SlotCheck) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessHook checks one command.
func (SlotCheck) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := oneSlot(cmdKeys(cmd)); err != nil {
			err = fmt.Errorf("redistest: %s %w", cmd.Name(), err)
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook checks each command, and the keys of a MULTI/EXEC
// block together.
func (SlotCheck) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var tx []string
		inTx := false
		for _, cmd := range cmds {
			keys := cmdKeys(cmd)
			switch cmd.Name() {
			case "multi":
				inTx, tx = true, nil
			case "exec":
				if err := oneSlot(tx); err != nil {
					return fmt.Errorf("redistest: MULTI/EXEC %w", err)
				}
				inTx = false
			default:
				if inTx {
					tx = append(tx, keys...)
				}
			}
			if err := oneSlot(keys); err != nil {
				return fmt.Errorf("redistest: %s %w", cmd.Name(), err)
			}
		}
		return next(ctx, cmds)
	}
}

func oneSlot(keys []string) error {
	for _, k := range keys[min(1, len(keys)):] {
		if Slot(k) != Slot(keys[0]) {
			return fmt.Errorf("touches keys of two hash slots (%q is in %d, %q in %d): a Redis Cluster refuses it (CROSSSLOT); give them one hash tag",
				keys[0], Slot(keys[0]), k, Slot(k))
		}
	}
	return nil
}

// cmdKeys are the keys of the commands whose keys must share a slot.
func cmdKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	str := func(i int) string {
		if i < len(args) {
			return fmt.Sprint(args[i])
		}
		return ""
	}
	strs := func(from, to int) []string {
		var out []string
		for i := from; i < to && i < len(args); i++ {
			out = append(out, str(i))
		}
		return out
	}
	switch name := strings.ToLower(cmd.Name()); name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		n, _ := strconv.Atoi(str(2))
		return strs(3, 3+n)
	case "del", "unlink", "exists", "mget", "touch", "watch",
		"sunion", "sinter", "sdiff", "sunionstore", "sinterstore", "sdiffstore", "pfcount", "pfmerge":
		return strs(1, len(args))
	case "mset", "msetnx":
		var out []string
		for i := 1; i < len(args); i += 2 {
			out = append(out, str(i))
		}
		return out
	case "rename", "renamenx", "smove", "lmove", "blmove", "rpoplpush", "brpoplpush", "copy":
		return strs(1, 3)
	case "zunionstore", "zinterstore", "zdiffstore":
		n, _ := strconv.Atoi(str(2))
		return append([]string{str(1)}, strs(3, 3+n)...)
	case "xread", "xreadgroup":
		for i := range args {
			if strings.EqualFold(str(i), "streams") {
				rest := len(args) - i - 1
				return strs(i+1, i+1+rest/2)
			}
		}
	default:
		if len(args) > 1 {
			return []string{str(1)} // the first key, for MULTI/EXEC blocks
		}
	}
	return nil
}

// Slot is the Redis Cluster hash slot of key: CRC16 of its hash tag (the
// part between the first { and the next }, when not empty) or of the whole
// key, modulo 16384.
func Slot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
