package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts bot runs. They are sent to Redis once (SCRIPT LOAD) and
// called by their SHA (EVALSHA), so a webhook or a batch does not carry
// their text. Each touches keys of one hash slot only, so that Redis
// Cluster can run them.
var (
	// addOnceScript appends an entry unless its dedupe key was seen. It
	// serves the few events no resident record can recognise again (groups,
	// rooms and synthetic events). XADD runs before the mark is set: scripts
	// are not rolled back, so if XADD fails no mark is left behind and the
	// redelivery is taken.
	addOnceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 1`)

	// leaseScript takes a free lease or renews one the owner already holds:
	// 2 when taken, 1 when renewed, 0 when someone else holds it.
	leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

	// releaseScript gives a lease up if the owner still holds it.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

	// saveScript replaces a resident's record only if its version is
	// unchanged. The whole hash is rewritten so that no field of an older
	// record survives (an erased session stays erased); the outbox field is
	// written only when there is something left to do.
	saveScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
redis.call('DEL', KEYS[1])
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2], 'o', ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return v + 1`)

	// finishScript runs at ack: it drops the outbox of a record still at
	// the version the worker saved, or deletes the whole record (unfollow).
	// A record saved since by someone else is left alone.
	finishScript = redis.NewScript(`
if tonumber(redis.call('HGET', KEYS[1], 'v') or '0') ~= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '1' then return redis.call('DEL', KEYS[1]) end
return redis.call('HDEL', KEYS[1], 'o')`)
)

var allScripts = []*redis.Script{addOnceScript, leaseScript, releaseScript, saveScript, finishScript}

// loadScripts sends every script to Redis (to every master on a Cluster).
func loadScripts(ctx context.Context, rdb redis.UniversalClient) error {
	for _, s := range allScripts {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return fmt.Errorf("load scripts: %w", err)
		}
	}
	return nil
}

// pipelined runs fn's commands in one round trip. When Redis answers
// NOSCRIPT (it restarted or was flushed since the scripts were loaded) the
// scripts are loaded again and fn runs once more: callers build commands
// that are safe to repeat.
func pipelined(ctx context.Context, rdb redis.UniversalClient, fn func(redis.Pipeliner) error) error {
	for attempt := 0; ; attempt++ {
		_, err := rdb.Pipelined(ctx, fn)
		if attempt == 0 && isNoScript(err) {
			if lerr := loadScripts(ctx, rdb); lerr != nil {
				return errors.Join(err, lerr)
			}
			continue
		}
		return err
	}
}

func isNoScript(err error) bool { return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") }
