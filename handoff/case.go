package handoff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Status is where a case stands.
type Status string

// The statuses of a case.
const (
	StatusOpen    Status = "open"
	StatusClaimed Status = "claimed"
	StatusClosed  Status = "closed"
)

// Post is one Slack message that belongs to a case.
type Post struct {
	Channel   string `json:"ch"`
	TS        string `json:"ts"`
	Permalink string `json:"pl,omitempty"`
	// Category is the category whose channel it is in ("" for coordination).
	Category string `json:"cat,omitempty"`
}

// Case is one resident's consultation as staff see it. It holds no LINE
// identifier: the link to the resident is a separate key (residentKey) so
// that nothing rendered from a Case can carry the userId.
type Case struct {
	ID string `json:"id"`
	// Key is the idempotency key the case was opened with: opening again
	// with it finds this case.
	Key string `json:"key,omitempty"`
	// Categories are the needs found, best first; Categories[0] is the home team
	// until a transfer changes Home.
	Categories []string `json:"cats"`
	// Teams are the categories whose teams work the case, home team first.
	Teams    []string `json:"teams"`
	Urgent   bool     `json:"urgent,omitempty"`
	Crisis   string   `json:"crisis,omitempty"`
	Compound bool     `json:"compound,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	Status   Status   `json:"status"`
	// Holder is the Slack user id of the staff member who claimed the case.
	Holder string `json:"holder,omitempty"`
	Locale string `json:"locale,omitempty"`
	// OutOfHours is set when the case came in outside business hours.
	OutOfHours bool `json:"ooh,omitempty"`
	// Said and Chose summarise the resident's words and buttons, truncated.
	Said  []string `json:"said,omitempty"`
	Chose []string `json:"chose,omitempty"`
	// Home is the card whose thread is the one place the work happens.
	Home *Post `json:"home,omitempty"`
	// Others are earlier home cards (before a transfer), pointers in added
	// teams' channels and the coordination post.
	Others []Post `json:"others,omitempty"`
	// PrevCase is the closed case this one follows.
	PrevCase     string    `json:"prev,omitempty"`
	PrevLink     string    `json:"prevlink,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	Claimed      time.Time `json:"claimed,omitzero"`
	Closed       time.Time `json:"closed,omitzero"`
	FirstReply   time.Time `json:"replied,omitzero"`
	FollowUpAt   time.Time `json:"followup,omitzero"`
	EscalatedFor string    `json:"escalated,omitempty"`
	// Forgotten is when the resident erased their data on LINE: the link to
	// them is gone and nothing staff do reaches them any more.
	Forgotten time.Time `json:"forgot,omitzero"`
	// ForgetNoted is set once the thread was told of Forgotten.
	ForgetNoted bool `json:"forgotnoted,omitempty"`
	// Erased is set once the resident's words were taken out of the case
	// and every Slack post that quoted them was rewritten.
	Erased bool `json:"erased,omitempty"`
	// CheckKind is the crisis kind the safety check asked about, and
	// Checked the resident's answer (yes, unsure, no, unanswered).
	CheckKind string `json:"check,omitempty"`
	Checked   string `json:"checked,omitempty"`
	// Suggested are needs the resident's later words point to; staff decide.
	Suggested []string `json:"suggested,omitempty"`
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so an ID read
// aloud over the phone or copied by hand is not misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idLen is 5 characters: 32^5 ≈ 33 million IDs, short enough to say aloud;
// a collision with a kept case is caught when the case is stored, and the
// next candidate taken.
const idLen = 5

// caseIDFor is the attempt-th candidate id of the case opened with key. It
// is drawn from a hash of the key, not from anything about the resident,
// so that opening again with the same key after a crash walks the same
// candidates and finds the case already stored; with no key it is random.
func caseIDFor(key string, attempt int) string {
	var b [32]byte
	if key == "" {
		_, _ = rand.Read(b[:])
	} else {
		b = sha256.Sum256([]byte("tsunagu/case/" + key + "#" + strconv.Itoa(attempt)))
	}
	out := make([]byte, idLen)
	for i := range out {
		out[i] = crockford[int(b[i])%32]
	}
	return string(out)
}

// NormalizeCaseID reads a case ID as staff may type it: lower case, with
// spaces or hyphens, O for 0 and I or L for 1. It reports false when the
// result is not a well-formed ID.
func NormalizeCaseID(s string) (string, bool) {
	r := strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(strings.ToUpper(strings.TrimSpace(s)))
	if len(r) != idLen {
		return "", false
	}
	for _, c := range r {
		if !strings.ContainsRune(crockford, c) {
			return "", false
		}
	}
	return r, true
}

// store keeps cases in Redis. Every key of one case shares the hash tag
// {ID} so that a Redis Cluster keeps them in one slot. Every key has a
// lifetime: an open case's keys live openMax after its last activity, a
// closed case's retention after its last change (see docs/privacy.md).
type store struct {
	rdb       redis.UniversalClient
	prefix    string
	now       func() time.Time
	openMax   time.Duration
	retention time.Duration
}

var errNoCase = errors.New("no such case")

// The keys of the handoff's records; docs/privacy.md lists them.
func (s *store) caseKey(id string) string     { return s.prefix + "case:{" + id + "}" }
func (s *store) residentKey(id string) string { return s.prefix + "case:{" + id + "}:resident" }

// quotesKey is the set of the case's posts ("channel/ts") that quote the
// resident's words besides the card: the relayed thread messages.
func (s *store) quotesKey(id string) string { return s.prefix + "case:{" + id + "}:quotes" }
func (s *store) doneKey(id, key string) string {
	return s.prefix + "case:{" + id + "}:done:" + key
}
func (s *store) threadKey(channel, ts string) string {
	return s.prefix + "thread:" + channel + ":" + ts
}

// createScript stores a case and its link to the resident unless the id is
// taken: 1 when stored, 2 when a case opened with the same key is there
// already, 0 when another case holds the id.
var createScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, c = pcall(cjson.decode, cur)
  if ok and ARGV[3] ~= '' and c['key'] == ARGV[3] then return 2 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return 1`)

// create stores a new case (c.ID is set) and links it to the resident. It
// reports false when the case opened with c.Key was stored already.
func (s *store) create(ctx context.Context, c *Case, userID string) (bool, error) {
	for attempt := range 8 {
		c.ID = caseIDFor(c.Key, attempt)
		b, err := json.Marshal(c)
		if err != nil {
			return false, fmt.Errorf("encode case: %w", err)
		}
		n, err := createScript.Run(ctx, s.rdb, []string{s.caseKey(c.ID), s.residentKey(c.ID)}, b, userID, c.Key, s.ttl(c).Milliseconds()).Int()
		if err != nil {
			return false, fmt.Errorf("create case: %w", err)
		}
		if n == 1 {
			s.index(ctx, c)
			return true, nil
		}
		if n > 0 {
			return false, nil
		}
	}
	return false, errors.New("create case: no free case id after 8 draws")
}

func (s *store) get(ctx context.Context, id string) (*Case, error) {
	b, err := s.rdb.Get(ctx, s.caseKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("case %s: %w", id, errNoCase)
	}
	if err != nil {
		return nil, fmt.Errorf("load case %s: %w", id, err)
	}
	var c Case
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", id, err)
	}
	return &c, nil
}

// update applies fn to the case with optimistic concurrency, so that two
// staff pressing buttons at once do not overwrite each other. fn returning
// errSkip leaves the case as it was.
func (s *store) update(ctx context.Context, id string, fn func(*Case) error) (*Case, error) {
	key := s.caseKey(id)
	var out *Case
	for range 16 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("case %s: %w", id, errNoCase)
			}
			if err != nil {
				return err
			}
			var c Case
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("decode case %s: %w", id, err)
			}
			if err := fn(&c); err != nil {
				return err
			}
			c.Updated = s.now()
			nb, err := json.Marshal(&c)
			if err != nil {
				return err
			}
			ttl := s.ttl(&c)
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, nb, ttl)
				p.PExpire(ctx, s.residentKey(id), ttl)
				p.PExpire(ctx, s.quotesKey(id), ttl)
				return nil
			})
			out = &c
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update case %s: %w", id, err)
		}
		s.index(ctx, out)
		if out.Home != nil {
			// Another slot on a Cluster: outside the transaction.
			if err := s.rdb.PExpire(ctx, s.threadKey(out.Home.Channel, out.Home.TS), s.ttl(out)).Err(); err != nil {
				return nil, fmt.Errorf("update case %s: keep thread link: %w", id, err)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("update case %s: too much contention", id)
}

func (s *store) resident(ctx context.Context, id string) (string, error) {
	u, err := s.rdb.Get(ctx, s.residentKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("resident of case %s: %w", id, errNoCase)
	}
	if err != nil {
		return "", fmt.Errorf("resident of case %s: %w", id, err)
	}
	return u, nil
}

// forgetResident deletes the link from the case to the resident's LINE userId.
func (s *store) forgetResident(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.residentKey(id)).Err(); err != nil {
		return fmt.Errorf("forget resident of case %s: %w", id, err)
	}
	return nil
}

// linkThread links an open case's home thread to it, for staff replies.
func (s *store) linkThread(ctx context.Context, channel, ts, id string) error {
	if err := s.rdb.Set(ctx, s.threadKey(channel, ts), id, s.openMax).Err(); err != nil {
		return fmt.Errorf("link thread of case %s: %w", id, err)
	}
	return nil
}

func (s *store) movedKey(channel, ts string) string {
	return s.prefix + "moved:" + channel + ":" + ts
}

// sentKey is the hash of the staff messages that reached the resident
// ("<channel>:<ts>").
func (s *store) sentKey(id string) string { return s.prefix + "case:{" + id + "}:sent" }

// moveThread unlinks a case's old thread (replies there no longer reach
// the resident) and remembers for ttl where the case went, so that a reply
// there is answered with the way to the new thread.
func (s *store) moveThread(ctx context.Context, channel, ts, id string, ttl time.Duration) error {
	// Two slots in a Cluster: a pipeline, not a transaction. Both repeat
	// safely if the transfer is done again.
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.movedKey(channel, ts), id, ttl)
		p.Del(ctx, s.threadKey(channel, ts))
		return nil
	})
	if err != nil {
		return fmt.Errorf("move thread of case %s: %w", id, err)
	}
	return nil
}

// caseOfMovedThread returns the case that left thread (channel, ts), or "".
func (s *store) caseOfMovedThread(ctx context.Context, channel, ts string) (string, error) {
	id, err := s.rdb.Get(ctx, s.movedKey(channel, ts)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find case of moved thread: %w", err)
	}
	return id, nil
}

// markRelayed records that the staff message (channel, ts) reached the
// resident of case id.
func (s *store) markRelayed(ctx context.Context, id, channel, ts string, ttl time.Duration) error {
	key := s.sentKey(id)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, channel+":"+ts, 1)
		p.Expire(ctx, key, ttl)
		return nil
	})
	return err
}

// relayed reports whether the staff message (channel, ts) reached the resident.
func (s *store) relayed(ctx context.Context, id, channel, ts string) (bool, error) {
	ok, err := s.rdb.HExists(ctx, s.sentKey(id), channel+":"+ts).Result()
	if err != nil {
		return false, fmt.Errorf("relayed staff reply of case %s: %w", id, err)
	}
	return ok, nil
}

// caseOfThread returns the case whose home thread is (channel, ts), or "".
func (s *store) caseOfThread(ctx context.Context, channel, ts string) (string, error) {
	id, err := s.rdb.Get(ctx, s.threadKey(channel, ts)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find case of thread: %w", err)
	}
	return id, nil
}

// doneTTL covers the redelivery of a button press or a scheduled task.
const doneTTL = 7 * 24 * time.Hour

// done reports whether the idempotency key was already completed for the case.
func (s *store) done(ctx context.Context, id, key string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.doneKey(id, key)).Result()
	if err != nil {
		return false, fmt.Errorf("check done %s: %w", id, err)
	}
	return n == 1, nil
}

func (s *store) markDone(ctx context.Context, id, key string) error {
	if err := s.rdb.Set(ctx, s.doneKey(id, key), 1, min(doneTTL, s.retention)).Err(); err != nil {
		return fmt.Errorf("mark done %s: %w", id, err)
	}
	return nil
}

// ttl is how long the case's keys live from now: an open case openMax
// after its last activity, a closed one retention after its last change.
func (s *store) ttl(c *Case) time.Duration {
	if c.Status == StatusClosed {
		return s.retention
	}
	return s.openMax
}

// touchScript renews the lifetime of a case's keys (KEYS, one slot) by the
// status stored now, not the one the caller read: a relay or a staff reply
// that races a close must not give the closed case an open case's life.
// It returns the lifetime set (ms), 0 when the case is gone.
var touchScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, c = pcall(cjson.decode, v)
local ttl = ARGV[1]
if ok and c['status'] == 'closed' then ttl = ARGV[2] end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
return tonumber(ttl)`)

// touch renews the lifetime of the case's keys after activity that does not
// change the case (a relay, a staff reply).
func (s *store) touch(ctx context.Context, c *Case) error {
	ms, err := touchScript.Run(ctx, s.rdb, []string{s.caseKey(c.ID), s.residentKey(c.ID), s.quotesKey(c.ID)},
		s.openMax.Milliseconds(), s.retention.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("keep case %s: %w", c.ID, err)
	}
	if ms == 0 {
		return nil
	}
	ttl := time.Duration(ms) * time.Millisecond
	// Other slots on a Cluster: a pipeline after the script. A close that
	// lands between the two can leave the thread link (a case id, nothing
	// the resident said) an open case's life: a window of one round trip.
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if c.Home != nil {
			p.PExpire(ctx, s.threadKey(c.Home.Channel, c.Home.TS), ttl)
		}
		if ttl == s.openMax {
			s.keepIndexes(ctx, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep case %s: %w", c.ID, err)
	}
	return nil
}

// addQuote remembers a post that quotes the resident's words, so that an
// erasure can rewrite it; it counts as activity on the case.
func (s *store) addQuote(ctx context.Context, c *Case, channel, ts string) error {
	if err := s.rdb.SAdd(ctx, s.quotesKey(c.ID), channel+"/"+ts).Err(); err != nil {
		return fmt.Errorf("remember post of case %s: %w", c.ID, err)
	}
	return s.touch(ctx, c)
}

// quotes lists the posts addQuote remembered, as channel and ts.
func (s *store) quotes(ctx context.Context, id string) ([][2]string, error) {
	members, err := s.rdb.SMembers(ctx, s.quotesKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("posts of case %s: %w", id, err)
	}
	out := make([][2]string, 0, len(members))
	for _, m := range members {
		if ch, ts, ok := strings.Cut(m, "/"); ok {
			out = append(out, [2]string{ch, ts})
		}
	}
	return out, nil
}

// dropQuote forgets a post once it was rewritten.
func (s *store) dropQuote(ctx context.Context, id, channel, ts string) error {
	if err := s.rdb.SRem(ctx, s.quotesKey(id), channel+"/"+ts).Err(); err != nil {
		return fmt.Errorf("posts of case %s: %w", id, err)
	}
	return nil
}
