package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Observer is told what the Slack side does, for the service's metrics. Its
// methods must be cheap, never block and be safe for concurrent use.
type Observer interface {
	// SlackCall is told one Web API call to method ended after d with code:
	// "ok", Slack's error code ("ratelimited", "channel_not_found"), the
	// HTTP status of an answer that was not JSON, or "network".
	SlackCall(method, code string, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) SlackCall(string, string, time.Duration) {}

// authFailures are the Slack errors that mean the token no longer works:
// nothing reaches staff until someone fixes it, so the service is not ready.
var authFailures = map[string]bool{
	"invalid_auth": true, "not_authed": true, "token_revoked": true,
	"token_expired": true, "account_inactive": true,
}

// observedClient is the HTTP client the Slack SDK calls through: it times
// each call and reads Slack's error code from the answer, which the SDK
// would otherwise only hand to the caller.
type observedClient struct {
	c *http.Client
	s *Service
}

func (o observedClient) Do(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	start := time.Now()
	res, err := o.c.Do(req)
	if err != nil {
		o.s.obs.SlackCall(method, "network", time.Since(start))
		return nil, err
	}
	code := "ok"
	if res.StatusCode != http.StatusOK {
		code = strconv.Itoa(res.StatusCode)
		if res.StatusCode == http.StatusTooManyRequests {
			code = "ratelimited"
		}
	} else if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		// Slack's answers are small; the SDK reads the copy.
		b, rerr := io.ReadAll(io.LimitReader(res.Body, 4<<20))
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		var r struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if rerr == nil && json.Unmarshal(b, &r) == nil && !r.OK {
			code = errorCode(r.Error)
		}
	}
	o.s.obs.SlackCall(method, code, time.Since(start))
	if authFailures[code] {
		o.s.setAuth(fmt.Errorf("slack %s: %s", method, code))
	}
	return res, nil
}

// errorCode keeps a Slack error code a bounded metric label.
func errorCode(e string) string {
	if e == "" || len(e) > 40 || strings.Trim(e, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "other"
	}
	return e
}

// setAuth records whether Slack accepts the token (err nil) or not.
func (s *Service) setAuth(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authErr = err
}

// errNotAuthed is the state before the first auth.test answered.
var errNotAuthed = errors.New("slack auth.test has not passed yet")

// Ready reports whether Slack accepted the token at the last auth.test and
// no call was refused for the token since: until then, handoffs are kept
// but reach no one.
func (s *Service) Ready() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.authErr
}

// CaseCounts is how many cases wait for staff.
type CaseCounts struct {
	// Open are cases not closed (claimed or not); Unclaimed nobody took yet.
	Open, Unclaimed int64
	// OldestUrgent is when the oldest unclaimed urgent case was opened;
	// zero when there is none.
	OldestUrgent time.Time
}

func (s *store) openKey() string      { return s.prefix + "{handoff}:open" }
func (s *store) unclaimedKey() string { return s.prefix + "{handoff}:unclaimed" }
func (s *store) urgentKey() string    { return s.prefix + "{handoff}:unclaimed:urgent" }

// index keeps the sets of open, unclaimed and unclaimed urgent cases in
// step with c's status, scored by when c was opened. It is its own round
// trip (the sets and the case are in different cluster slots). It never
// fails the change it follows: a failure only leaves a count behind until
// the case's next change, which is why its error is dropped.
func (s *store) index(ctx context.Context, c *Case) {
	score := float64(c.Created.UnixMilli())
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		set := func(key string, in bool) {
			if in {
				p.ZAdd(ctx, key, redis.Z{Score: score, Member: c.ID})
			} else {
				p.ZRem(ctx, key, c.ID)
			}
		}
		set(s.openKey(), c.Status != StatusClosed)
		set(s.unclaimedKey(), c.Status == StatusOpen)
		set(s.urgentKey(), c.Status == StatusOpen && c.Urgent)
		s.keepIndexes(ctx, p)
		return nil
	})
}

// keepIndexes renews the sets' lifetime: they live while any open case
// does, which is at most openMax after the last activity on one.
func (s *store) keepIndexes(ctx context.Context, p redis.Pipeliner) {
	for _, k := range []string{s.openKey(), s.unclaimedKey(), s.urgentKey()} {
		p.PExpire(ctx, k, s.openMax)
	}
}

// unindex takes a case that expired out of the sets.
func (s *store) unindex(ctx context.Context, id string) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range []string{s.openKey(), s.unclaimedKey(), s.urgentKey()} {
			p.ZRem(ctx, k, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unindex case %s: %w", id, err)
	}
	return nil
}

// CaseCounts counts the cases waiting for staff, in one round trip.
func (s *Service) CaseCounts(ctx context.Context) (CaseCounts, error) {
	var (
		open, unclaimed *redis.IntCmd
		oldest          *redis.ZSliceCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		open = p.ZCard(ctx, s.st.openKey())
		unclaimed = p.ZCard(ctx, s.st.unclaimedKey())
		oldest = p.ZRangeWithScores(ctx, s.st.urgentKey(), 0, 0)
		return nil
	})
	if err != nil {
		return CaseCounts{}, fmt.Errorf("count cases: %w", err)
	}
	cc := CaseCounts{Open: open.Val(), Unclaimed: unclaimed.Val()}
	if z := oldest.Val(); len(z) > 0 {
		cc.OldestUrgent = time.UnixMilli(int64(z[0].Score))
	}
	return cc, nil
}
