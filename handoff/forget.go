package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Staff-facing lines about a resident who erased their data.
const (
	forgottenNote  = "🗑 相談者が自分のデータを削除しました。このスレッドへの返信は相談者に届きません。"
	forgottenReply = ":no_entry_sign: 相談者が自分のデータを削除したため、今の返信は相談者に送られていません。"
)

// Forget cuts a case from its resident after they erased their data on
// LINE (削除, or blocking the account). The link to their LINE userId is
// deleted at once, so nothing staff do can reach them from now on; the
// rest is queued: the case's scheduled check-ins and reminders are
// cancelled, the thread is told once and the card shows it (later replies
// are answered in the thread instead of pushed). The case itself stays: it
// is the staff's record of the consultation, and it holds no LINE
// identifier. Idempotent by key.
func (s *Service) Forget(ctx context.Context, caseID, key string) error {
	if err := s.st.forgetResident(ctx, caseID); err != nil {
		return err
	}
	_, err := s.enqueue(ctx, task{Kind: kindForget, Case: caseID}, "forget:"+key)
	return err
}

// forget does the queued rest of Forget.
func (s *Service) forget(ctx context.Context, caseID string) error {
	c, err := s.st.update(ctx, caseID, func(c *Case) error {
		if c.Forgotten.IsZero() {
			c.Forgotten = s.cfg.Now()
		}
		c.FollowUpAt = time.Time{}
		return nil
	})
	if errors.Is(err, errNoCase) {
		// Expired after retention: there is nothing left to cut.
		s.log.InfoContext(ctx, "forget: case no longer kept", "case", caseID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	if err := s.unschedule(ctx, caseID); err != nil {
		return err
	}
	// The copies of the resident's words kept for an unsend go: no unsend
	// can come from someone the case is cut from.
	if err := s.rdb.Del(ctx, s.st.relayedKey(caseID)).Err(); err != nil {
		return fmt.Errorf("forget case %s: %w", caseID, err)
	}
	// Noted on the case, so that two erasures (削除, then blocking the
	// account) say it once.
	if !c.ForgetNoted && c.Home != nil {
		if err := s.postThread(ctx, c, forgottenNote); err != nil {
			return fmt.Errorf("forget case %s: %w", caseID, err)
		}
		if c, err = s.st.update(ctx, caseID, func(c *Case) error {
			c.ForgetNoted = true
			return nil
		}); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return fmt.Errorf("forget case %s: %w", caseID, err)
	}
	s.log.InfoContext(ctx, "case cut from its resident", "case", caseID)
	return nil
}

// unschedule removes the case's waiting check-ins and unclaimed reminders:
// a check-in cannot reach the resident, and a reminder would ask staff to
// answer someone they cannot answer. One that is already in the queue is
// stopped by its handler, which looks at Forgotten.
func (s *Service) unschedule(ctx context.Context, caseID string) error {
	members, err := s.rdb.ZRange(ctx, s.dueKey(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("cancel scheduled work of case %s: %w", caseID, err)
	}
	var drop []any
	for _, m := range members {
		var t task
		if json.Unmarshal([]byte(m), &t) != nil || t.Case != caseID {
			continue
		}
		if t.Kind == kindCheckin || t.Kind == kindEscalate {
			drop = append(drop, m)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	if err := s.rdb.ZRem(ctx, s.dueKey(), drop...).Err(); err != nil {
		return fmt.Errorf("cancel scheduled work of case %s: %w", caseID, err)
	}
	s.log.InfoContext(ctx, "scheduled work cancelled", "case", caseID, "count", len(drop))
	return nil
}
