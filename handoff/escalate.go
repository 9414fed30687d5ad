package handoff

import (
	"context"
	"fmt"
	"time"
)

// armEscalation schedules the unclaimed reminder for the case's current
// card. An urgent case is due soon whatever the hour; an ordinary case that
// came in out of hours is counted from the next opening, so the lead group
// is not woken at night for a case nobody could have claimed.
func (s *Service) armEscalation(ctx context.Context, c *Case) error {
	if c.Home == nil {
		return nil
	}
	now := s.cfg.Now()
	var at time.Time
	if c.Urgent {
		at = now.Add(s.cfg.EscalateUrgentAfter)
	} else {
		start := now
		if next := s.flow().Hours.NextOpen(now); !next.IsZero() {
			start = next
		}
		at = start.Add(s.cfg.EscalateAfter)
	}
	return s.schedule(ctx, at, task{Kind: kindEscalate, Case: c.ID, Home: c.Home.TS})
}

// handleEscalation reminds the lead group of a case nobody took: unclaimed,
// unanswered, still on the card the reminder was armed for.
func (s *Service) handleEscalation(ctx context.Context, t task) error {
	c, err := s.st.get(ctx, t.Case)
	if err != nil {
		return err
	}
	if c.Status != StatusOpen || c.Home == nil || c.Home.TS != t.Home || !c.FirstReply.IsZero() || c.EscalatedFor == t.Home || !c.Forgotten.IsZero() {
		return nil
	}
	waited := s.cfg.Now().Sub(c.Created).Round(time.Minute)
	kind := ""
	if c.Urgent {
		kind = "緊急ケース"
	} else {
		kind = "ケース"
	}
	text := fmt.Sprintf("%s :alarm_clock: %s %s はまだ担当者が決まっていません（受付から約%d分）。対応をお願いします。",
		mention(s.cfg.LeadMention), kind, c.ID, int(waited.Minutes()))
	if err := s.postThread(ctx, c, text); err != nil {
		return err
	}
	if _, err := s.st.update(ctx, c.ID, func(c *Case) error {
		c.EscalatedFor = t.Home
		return nil
	}); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "unclaimed case escalated", "case", c.ID)
	return nil
}

// handleCheckin sends the flow's gentle check-in to the resident and tells
// the thread it went out.
func (s *Service) handleCheckin(ctx context.Context, t task) error {
	c, err := s.st.get(ctx, t.Case)
	if err != nil {
		return err
	}
	if !c.Forgotten.IsZero() {
		// Forget cancelled it but it was already queued; the thread has said
		// that nothing reaches the resident.
		s.log.InfoContext(ctx, "check-in dropped: resident erased their data", "case", c.ID)
		return nil
	}
	if c.Status == StatusClosed {
		return s.postThread(ctx, c, ":calendar: 予約していたフォローアップは、ケースが終了しているため送りませんでした。")
	}
	done, err := s.st.done(ctx, c.ID, "checkin:"+t.ID)
	if err != nil || done {
		return err
	}
	user, err := s.st.resident(ctx, c.ID)
	if err != nil {
		return err
	}
	text := s.flow().Text("checkin", c.Locale)
	if _, err := s.push.Push(ctx, user, "checkin:"+t.ID, text); err != nil {
		if why, ok := refusal(err); ok {
			s.log.WarnContext(ctx, "check-in refused by LINE; not retried", "case", c.ID, "err", err)
			if err := s.postThread(ctx, c, ":warning: フォローアップは相談者に届きませんでした。LINE が受け付けませんでした（"+why+"）。"); err != nil {
				return err
			}
			return s.st.markDone(ctx, c.ID, "checkin:"+t.ID)
		}
		return fmt.Errorf("push check-in of case %s: %w", c.ID, err)
	}
	c, err = s.st.update(ctx, c.ID, func(c *Case) error {
		c.FollowUpAt = time.Time{}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return err
	}
	if err := s.postThread(ctx, c, ":envelope_with_arrow: フォローアップを送りました：\n"+quote(text)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "check-in sent", "case", c.ID)
	return s.st.markDone(ctx, c.ID, "checkin:"+t.ID)
}
