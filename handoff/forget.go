package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Staff-facing lines about a resident who erased their data.
const (
	forgottenNote  = "🗑 相談者が自分のデータを削除しました。このスレッドへの返信は相談者に届きません。"
	forgottenReply = ":no_entry_sign: 相談者が自分のデータを削除したため、今の返信は相談者に送られていません。"
)

// Forget cuts a case from its resident after they erased their data on
// LINE (削除, or blocking the account): the link to their LINE userId is
// deleted and the case's scheduled check-ins and reminders are cancelled,
// so nothing staff do can reach them any more. The case itself stays: it
// is the staff's record of the consultation, and it holds no LINE
// identifier. The thread is told once and the card shows it; later replies
// in the thread are answered there instead of pushed. Idempotent by key.
func (s *Service) Forget(ctx context.Context, caseID, key string) error {
	done, err := s.st.done(ctx, caseID, "forget:"+key)
	if err != nil || done {
		return err
	}
	// The link goes first: whatever fails after this, the resident is out
	// of reach, and a staff reply meanwhile is answered in the thread.
	if err := s.st.forgetResident(ctx, caseID); err != nil {
		return err
	}
	c, err := s.st.update(ctx, caseID, func(c *Case) error {
		if c.Forgotten.IsZero() {
			c.Forgotten = s.cfg.Now()
		}
		c.FollowUpAt = time.Time{}
		return nil
	})
	if errors.Is(err, errNoCase) {
		// Expired after retention: there is nothing left to cut.
		slog.InfoContext(ctx, "forget: case no longer kept", "case", caseID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	if err := s.unschedule(ctx, caseID); err != nil {
		return err
	}
	// Noted on the case, not by key, so that two erasures (削除, then
	// blocking the account) say it once.
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
	slog.InfoContext(ctx, "case cut from its resident", "case", caseID)
	return s.st.markDone(ctx, caseID, "forget:"+key)
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
	slog.InfoContext(ctx, "scheduled work cancelled", "case", caseID, "count", len(drop))
	return nil
}
