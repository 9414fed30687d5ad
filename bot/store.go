// Package bot is tsunagu's LINE adapter: the webhook, the durable intake in
// Redis, the workers that run the flow for each event, the session store and
// the calls back to LINE.
package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// ErrConflict is returned by Save when the record changed since it was loaded.
var ErrConflict = errors.New("session changed concurrently")

// Record is what is stored for one resident: the session, its version for
// optimistic concurrency, and what the last applied event still has to do.
type Record struct {
	Session flows.Session
	// Version is 0 when nothing is stored; Save compares it and bumps it.
	Version uint64
	// Event is the id of the last event applied to Session. A redelivered
	// event with this id must not be stepped again, only its Outbox finished.
	Event string
	// Outbox is the encoded side effects of Event (see worker.go).
	Outbox []byte
}

// SessionStore keeps residents' records, keyed by LINE userId.
type SessionStore interface {
	// Load returns the resident's record; a zero Record when none is stored.
	Load(ctx context.Context, userID string) (Record, error)
	// Save stores rec if the stored version still equals rec.Version, and
	// returns the new version; ErrConflict otherwise.
	Save(ctx context.Context, userID string, rec Record) (uint64, error)
	// Delete erases everything kept about the resident.
	Delete(ctx context.Context, userID string) error
}

// RedisStoreOptions configure NewRedisStore.
type RedisStoreOptions struct {
	// Prefix starts every key; "tsunagu:" when empty.
	Prefix string
	// Secret keys the HMAC that turns a userId into a key, so that the raw
	// LINE userId never appears in a key name. Changing it forgets everyone.
	Secret []byte
	// Retention is the record's TTL, refreshed on every save; 30 days when zero.
	Retention time.Duration
}

// RedisStore is the SessionStore on Redis (single node, Sentinel or Cluster):
// one hash per resident at <prefix>{r:<hmac>}:session.
type RedisStore struct {
	rdb redis.UniversalClient
	opt RedisStoreOptions
}

// NewRedisStore returns a store on rdb.
func NewRedisStore(rdb redis.UniversalClient, opt RedisStoreOptions) *RedisStore {
	if opt.Prefix == "" {
		opt.Prefix = "tsunagu:"
	}
	if opt.Retention <= 0 {
		opt.Retention = 30 * 24 * time.Hour
	}
	return &RedisStore{rdb: rdb, opt: opt}
}

// ResidentTag is the hash tag that groups a resident's keys on one Cluster
// slot; it is an HMAC of the userId, never the userId itself.
func ResidentTag(secret []byte, userID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(userID))
	return "{r:" + hex.EncodeToString(m.Sum(nil)[:16]) + "}"
}

func (s *RedisStore) key(userID string) string {
	return s.opt.Prefix + ResidentTag(s.opt.Secret, userID) + ":session"
}

// Load implements SessionStore.
func (s *RedisStore) Load(ctx context.Context, userID string) (Record, error) {
	m, err := s.rdb.HGetAll(ctx, s.key(userID)).Result()
	if err != nil {
		return Record{}, fmt.Errorf("load session: %w", err)
	}
	if len(m) == 0 {
		return Record{}, nil
	}
	v, err := strconv.ParseUint(m["v"], 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("load session: bad version: %w", err)
	}
	rec := Record{Version: v, Event: m["e"], Outbox: []byte(m["o"])}
	if len(rec.Outbox) == 0 {
		rec.Outbox = nil
	}
	if sj := m["s"]; sj != "" {
		if rec.Session, err = flows.UnmarshalSession([]byte(sj)); err != nil {
			return Record{}, fmt.Errorf("load session: %w", err)
		}
	}
	return rec, nil
}

// saveScript replaces the whole record only if its version is unchanged, so
// no field of an older record survives (an erased session stays erased).
var saveScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2], 'e', ARGV[3], 'o', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return v + 1
`)

// Save implements SessionStore.
func (s *RedisStore) Save(ctx context.Context, userID string, rec Record) (uint64, error) {
	sj, err := flows.MarshalSession(rec.Session)
	if err != nil {
		return 0, fmt.Errorf("save session: %w", err)
	}
	n, err := saveScript.Run(ctx, s.rdb, []string{s.key(userID)},
		rec.Version, sj, rec.Event, rec.Outbox, s.opt.Retention.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("save session: %w", err)
	}
	if n < 0 {
		return 0, ErrConflict
	}
	return uint64(n), nil
}

// Delete implements SessionStore.
func (s *RedisStore) Delete(ctx context.Context, userID string) error {
	if err := s.rdb.Del(ctx, s.key(userID)).Err(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// MemoryStore is a SessionStore in memory, for `tsunagu chat` and tests that
// are not about Redis. It keeps records until deleted.
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string]Record
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{recs: map[string]Record{}} }

// Load implements SessionStore.
func (m *MemoryStore) Load(_ context.Context, userID string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.recs[userID]
	// Copy slices so callers cannot change what is stored behind the lock.
	rec.Session.Chosen = append([]string(nil), rec.Session.Chosen...)
	rec.Session.Choices = append([]string(nil), rec.Session.Choices...)
	rec.Session.Recent = append([]string(nil), rec.Session.Recent...)
	rec.Outbox = append([]byte(nil), rec.Outbox...)
	return rec, nil
}

// Save implements SessionStore.
func (m *MemoryStore) Save(_ context.Context, userID string, rec Record) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs[userID].Version != rec.Version {
		return 0, ErrConflict
	}
	rec.Version++
	rec.Session.V = flows.SessionVersion
	rec.Session.Chosen = append([]string(nil), rec.Session.Chosen...)
	rec.Session.Choices = append([]string(nil), rec.Session.Choices...)
	rec.Session.Recent = append([]string(nil), rec.Session.Recent...)
	rec.Outbox = append([]byte(nil), rec.Outbox...)
	m.recs[userID] = rec
	return rec.Version, nil
}

// Delete implements SessionStore.
func (m *MemoryStore) Delete(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, userID)
	return nil
}
