package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// Staff-facing lines about a resident who erased their data.
const (
	forgottenNote  = "🗑 相談者が自分のデータを削除しました。このスレッドへの返信は相談者に届きません。"
	erasedNote     = "相談者の言葉は、カードとこのスレッドから削除しました（残るのはケースID・分野・緊急度・日時・対応の結果です）。"
	keptNote       = "市の規定により、Slackの記録（カードとスレッド）はそのまま残しています。"
	forgottenReply = ":no_entry_sign: 相談者が自分のデータを削除したため、今の返信は相談者に送られていません。"
	// erasedWords stands where the resident's words were, on the card and
	// in every relayed post.
	erasedWords = "（相談者の希望により削除されました）"
)

// Forget cuts a case from its resident after they erased their data on
// LINE (削除, or blocking the account). The link to their LINE userId is
// deleted at once, so nothing staff do can reach them from now on; the
// rest is queued, behind any of their words still waiting to be relayed:
// their words are taken out of the case, every Slack post that quoted them
// is rewritten (unless KeepSlackRecord), the case's scheduled check-ins and
// reminders are cancelled, and the thread is told once. The case itself
// stays, anonymous: it is the staff's record that a consultation happened,
// and it holds no LINE identifier. Idempotent by key.
func (s *Service) Forget(ctx context.Context, caseID, key string) error {
	if err := s.st.forgetResident(ctx, caseID); err != nil {
		return err
	}
	_, err := s.enqueue(ctx, task{Kind: kindForget, Case: caseID}, "forget:"+key)
	return err
}

// forget does the queued rest of Forget. Each step can be done again after
// a crash: rewritten posts are struck from the case's list one by one.
func (s *Service) forget(ctx context.Context, caseID string) error {
	erase := !s.cfg.KeepSlackRecord
	c, err := s.st.update(ctx, caseID, func(c *Case) error {
		if c.Forgotten.IsZero() {
			c.Forgotten = s.cfg.Now()
		}
		c.FollowUpAt = time.Time{}
		if erase {
			c.Said, c.Chose, c.Erased = nil, nil, true
		}
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
	if erase {
		if err := s.eraseQuotes(ctx, c); err != nil {
			return fmt.Errorf("forget case %s: %w", caseID, err)
		}
	}
	// Noted on the case, so that two erasures (削除, then blocking the
	// account) say it once.
	if !c.ForgetNoted && c.Home != nil {
		note := forgottenNote + "\n" + erasedNote
		if !erase {
			note = forgottenNote + "\n" + keptNote
		}
		if err := s.postThread(ctx, c, note); err != nil {
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
	if erase {
		if err := s.refreshCoordination(ctx, c); err != nil {
			return fmt.Errorf("forget case %s: %w", caseID, err)
		}
	}
	s.log.InfoContext(ctx, "case cut from its resident", "case", caseID, "slack_rewritten", erase)
	return nil
}

// eraseQuotes rewrites every relayed post of the case to erasedWords.
func (s *Service) eraseQuotes(ctx context.Context, c *Case) error {
	posts, err := s.st.quotes(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, p := range posts {
		if err := s.update(ctx, p[0], p[1], ":speech_balloon: *相談者*\n"+erasedWords); err != nil {
			return err
		}
		if err := s.st.dropQuote(ctx, c.ID, p[0], p[1]); err != nil {
			return err
		}
	}
	if len(posts) > 0 {
		s.log.InfoContext(ctx, "relayed posts rewritten", "case", c.ID, "count", len(posts))
	}
	return nil
}

// refreshCoordination redraws the case's coordination post from the case.
func (s *Service) refreshCoordination(ctx context.Context, c *Case) error {
	for _, p := range c.Others {
		if p.Category != "" {
			continue // an old card or an added team's pointer
		}
		if err := s.update(ctx, p.Channel, p.TS, s.coordinationText(c)); err != nil {
			return err
		}
	}
	return nil
}

// update replaces a post's text, paced on its channel. A post that is no
// longer there (staff deleted it) has nothing left to rewrite.
func (s *Service) update(ctx context.Context, channel, ts, text string) error {
	err := s.callSlack(ctx, s.paceKey(channel), false, func() error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks())
		return err
	})
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "channel_not_found") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
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
