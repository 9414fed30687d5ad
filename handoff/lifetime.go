package handoff

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An open case lives OpenCaseMax after its last activity; its keys expire on
// their own. Shortly before, the thread is told, so that staff are not
// surprised by a case that went quiet and is gone. One scheduled look per
// case does it: it finds the case renewed (and looks again before the new
// end), closed (retention rules it now), gone, or due (the note).

// expiryLead is how long before an open case expires its thread is told.
func (s *Service) expiryLead() time.Duration {
	return min(24*time.Hour, s.cfg.OpenCaseMax/10)
}

// armExpiry schedules the look at an open case shortly before it would
// expire, ttl from now.
func (s *Service) armExpiry(ctx context.Context, id string, ttl time.Duration) error {
	return s.schedule(ctx, s.cfg.Now().Add(max(ttl-s.expiryLead(), 0)), task{Kind: kindExpire, Case: id})
}

// handleExpiry is the scheduled look at an open case near its end.
func (s *Service) handleExpiry(ctx context.Context, t task) error {
	c, err := s.st.get(ctx, t.Case)
	if errors.Is(err, errNoCase) {
		// Expired: it no longer waits for staff either.
		return s.st.unindex(ctx, t.Case)
	}
	if err != nil {
		return err
	}
	if c.Status == StatusClosed || c.Home == nil {
		return nil
	}
	ttl, err := s.rdb.PTTL(ctx, s.st.caseKey(c.ID)).Result()
	if err != nil {
		return fmt.Errorf("lifetime of case %s: %w", c.ID, err)
	}
	lead := s.expiryLead()
	if ttl < 0 {
		// Stored before cases had lifetimes: it gets one now.
		if err := s.st.touch(ctx, c); err != nil {
			return err
		}
		return s.armExpiry(ctx, c.ID, s.cfg.OpenCaseMax)
	}
	if ttl > 2*lead {
		return s.armExpiry(ctx, c.ID, ttl) // renewed by activity since
	}
	key := "expiry:" + t.ID
	done, err := s.st.done(ctx, c.ID, key)
	if err != nil {
		return err
	}
	if !done {
		quiet := s.cfg.OpenCaseMax - ttl
		note := fmt.Sprintf(":hourglass_flowing_sand: このケースは約%d日間動きがないため、%s ごろにケースの記録が消えます（このスレッドへの返信は相談者に届かなくなります）。続ける場合はスレッドに書き込むか、カードを操作してください。",
			int(quiet.Hours()/24), s.localTime(s.cfg.Now().Add(ttl)))
		if err := s.postThread(ctx, c, note); err != nil {
			return fmt.Errorf("expiry note of case %s: %w", c.ID, err)
		}
		if err := s.st.markDone(ctx, c.ID, key); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "open case near its end; thread told", "case", c.ID)
	}
	// Look again after the end: activity since the note may have renewed it.
	return s.schedule(ctx, s.cfg.Now().Add(ttl+lead), task{Kind: kindExpire, Case: c.ID})
}
