// Package bot is tsunagu's LINE adapter: the webhook, the durable intake in
// Redis, the workers that run the flow for each event, the resident records
// and the calls back to LINE.
package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tsunagu-city/tsunagu/flows"
)

// ErrConflict is returned by Save when the record changed since it was loaded.
var ErrConflict = errors.New("session changed concurrently")

// Record is what is stored for one resident: the session, its version for
// optimistic concurrency, the events already applied to it and, until they
// are acknowledged, what the last applied events still have to do.
type Record struct {
	Session flows.Session
	// Version is 0 when nothing is stored; Save compares it and bumps it.
	Version uint64
	// Outbox is the encoded side effects of the last save's events (see
	// outbox.go); nil once they were done and acknowledged.
	Outbox []byte

	seen []seenEvent
	rate rateState
}

// seenEvent is an event applied to the session: a hash of its id and when
// it happened. They are kept for the length of LINE's redelivery window, so
// that an event delivered again (a lost 200, a crash before the ack) is
// recognised from the record that applied it; no mark per event is kept
// anywhere else.
type seenEvent struct {
	id uint64
	at uint32 // unix seconds
}

// seenCap bounds the events a record remembers: more than a resident writes
// in LINE's redelivery window, and 12 bytes each.
const seenCap = 64

func eventHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// Seen reports whether the event id was applied to this record.
func (r *Record) Seen(id string) bool {
	h := eventHash(id)
	for _, s := range r.seen {
		if s.id == h {
			return true
		}
	}
	return false
}

// see records that the event was applied, forgetting events older than
// window before at and the oldest beyond seenCap.
func (r *Record) see(id string, at time.Time, window time.Duration) {
	sec := uint32(max(at.Unix(), 0))
	floor := uint32(max(at.Add(-window).Unix(), 0))
	kept := r.seen[:0]
	for _, s := range r.seen {
		if s.at >= floor {
			kept = append(kept, s)
		}
	}
	if len(kept) >= seenCap {
		kept = append(kept[:0], kept[len(kept)-seenCap+1:]...)
	}
	r.seen = append(kept, seenEvent{id: eventHash(id), at: sec})
}

// recordVersion starts every encoded record.
const recordVersion = 2

// marshal encodes the record's data: the session as the flow writes it
// (it keeps its own schema version), the seen events and the rate state.
func (r *Record) marshal() ([]byte, error) {
	sj, err := flows.MarshalSession(r.Session)
	if err != nil {
		return nil, err
	}
	b := make(enc, 0, len(sj)+16+len(r.seen)*12)
	b = append(b, recordVersion)
	b = b.str(string(sj)).uint(uint64(len(r.seen)))
	for _, s := range r.seen {
		b = binary.LittleEndian.AppendUint64(b, s.id)
		b = b.uint(uint64(s.at))
	}
	b = b.uint(uint64(r.rate.start)).uint(uint64(r.rate.count)).bool(r.rate.noted)
	return b, nil
}

func (r *Record) unmarshal(b []byte) error {
	if len(b) == 0 || b[0] != recordVersion {
		return errCorrupt
	}
	d := dec{b: b[1:]}
	sj := d.str()
	n := d.count()
	r.seen = make([]seenEvent, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		if len(d.b) < 8 {
			d.err = errCorrupt
			break
		}
		id := binary.LittleEndian.Uint64(d.b)
		d.b = d.b[8:]
		r.seen = append(r.seen, seenEvent{id: id, at: uint32(d.uint())})
	}
	r.rate = rateState{start: uint32(d.uint()), count: uint32(d.uint()), noted: d.bool()}
	if d.err != nil {
		return d.err
	}
	s, err := flows.UnmarshalSession([]byte(sj))
	if err != nil {
		return err
	}
	r.Session = s
	return nil
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

// RedisStore keeps residents' records on Redis (single node, Sentinel or
// Cluster): one small hash per resident at <prefix>{r:<hmac>}:session, with
// the version (v), the data (d) and, only while side effects are pending,
// the outbox (o).
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

// Load returns the resident's record; a zero Record when none is stored.
func (s *RedisStore) Load(ctx context.Context, userID string) (Record, error) {
	recs, err := s.loadAll(ctx, []string{userID})
	if err != nil {
		return Record{}, err
	}
	return recs[0], nil
}

// loadAll reads the records of several residents in one round trip.
func (s *RedisStore) loadAll(ctx context.Context, users []string) ([]Record, error) {
	cmds := make([]*redis.MapStringStringCmd, len(users))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, u := range users {
			cmds[i] = pipe.HGetAll(ctx, s.key(u))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load sessions: %w", err)
	}
	recs := make([]Record, len(users))
	for i, c := range cmds {
		if err := decodeRecord(c.Val(), &recs[i]); err != nil {
			return nil, fmt.Errorf("load session: %w", err)
		}
	}
	return recs, nil
}

// decodeRecord reads a stored hash. A record written by an earlier version
// (fields s, e and o) is read too: its last event counts as seen, and its
// outbox, which that version never cleared, is dropped.
func decodeRecord(m map[string]string, rec *Record) error {
	if len(m) == 0 {
		return nil
	}
	v, err := strconv.ParseUint(m["v"], 10, 64)
	if err != nil {
		return fmt.Errorf("bad version: %w", err)
	}
	rec.Version = v
	if d, ok := m["d"]; ok {
		if err := rec.unmarshal([]byte(d)); err != nil {
			return err
		}
		if o := m["o"]; o != "" {
			rec.Outbox = []byte(o)
		}
		return nil
	}
	if sj := m["s"]; sj != "" {
		if rec.Session, err = flows.UnmarshalSession([]byte(sj)); err != nil {
			return err
		}
	}
	if e := m["e"]; e != "" {
		rec.seen = []seenEvent{{id: eventHash(e), at: uint32(time.Now().Unix())}}
	}
	return nil
}

// saveTo adds to pipe the compare-and-set of the resident's record: it is
// stored, with outbox, only if the stored version still equals rec.Version.
// The command's value is the new version, or -1 on a conflict.
func (s *RedisStore) saveTo(ctx context.Context, pipe redis.Pipeliner, userID string, rec *Record, outbox []byte) (*redis.Cmd, error) {
	data, err := rec.marshal()
	if err != nil {
		return nil, fmt.Errorf("save session: %w", err)
	}
	return pipe.EvalSha(ctx, saveScript.Hash(), []string{s.key(userID)},
		rec.Version, data, outbox, s.opt.Retention.Milliseconds()), nil
}

// finishTo adds to pipe what ends a save's work: its outbox is dropped, or
// with erase the whole record is deleted, if the record is still at version.
func (s *RedisStore) finishTo(ctx context.Context, pipe redis.Pipeliner, userID string, version uint64, erase bool) redis.Cmder {
	flag := "0"
	if erase {
		flag = "1"
	}
	return pipe.EvalSha(ctx, finishScript.Hash(), []string{s.key(userID)}, version, flag)
}

// Save stores rec if the stored version still equals rec.Version, and
// returns the new version; ErrConflict otherwise.
func (s *RedisStore) Save(ctx context.Context, userID string, rec Record) (uint64, error) {
	var cmd *redis.Cmd
	err := pipelined(ctx, s.rdb, func(pipe redis.Pipeliner) error {
		var err error
		cmd, err = s.saveTo(ctx, pipe, userID, &rec, rec.Outbox)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("save session: %w", err)
	}
	n, _ := cmd.Int64()
	if n < 0 {
		return 0, ErrConflict
	}
	return uint64(n), nil
}
