package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsunagu-city/tsunagu/stats"
)

// errSkip leaves a case unchanged from inside store.update.
var errSkip = errors.New("nothing to change")

// handleInteraction carries out the card's buttons and selects.
func (s *Service) handleInteraction(ctx context.Context, raw []byte) error {
	var cb slack.InteractionCallback
	if err := json.Unmarshal(raw, &cb); err != nil {
		return permanent(fmt.Errorf("decode slack interaction: %w", err))
	}
	for _, a := range cb.ActionCallback.BlockActions {
		rest, ok := strings.CutPrefix(a.BlockID, blockPrefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, ":")
		key := "ix:" + cb.TriggerID + ":" + a.ActionID + ":" + a.ActionTs
		done, err := s.st.done(ctx, id, key)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if err := s.act(ctx, id, cb.User.ID, a); err != nil {
			return err
		}
		if err := s.st.markDone(ctx, id, key); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) act(ctx context.Context, id, user string, a *slack.BlockAction) error {
	switch a.ActionID {
	case actClaim:
		return s.claim(ctx, id, user)
	case actTransfer:
		return s.transfer(ctx, id, user, a.SelectedOption.Value)
	case actAddTeam:
		return s.addTeam(ctx, id, user, a.SelectedOption.Value)
	case actClose:
		return s.close(ctx, id, user)
	case actFollowUp:
		i, err := strconv.Atoi(a.SelectedOption.Value)
		if err != nil || i < 0 || i >= len(s.cfg.FollowUps) {
			return permanent(fmt.Errorf("follow-up option %q unknown", a.SelectedOption.Value))
		}
		return s.followUp(ctx, id, user, s.cfg.Now().Add(s.cfg.FollowUps[i].After))
	case actFollowUpDate:
		d, err := time.ParseInLocation(time.DateOnly, a.SelectedDate, s.location())
		if err != nil {
			return permanent(fmt.Errorf("follow-up date %q: %w", a.SelectedDate, err))
		}
		at := d
		if now := s.cfg.Now(); at.Before(now) {
			at = now
		}
		return s.followUp(ctx, id, user, at)
	}
	s.log.InfoContext(ctx, "unknown card action", "case", id, "action", a.ActionID)
	return nil
}

func (s *Service) location() *time.Location {
	if loc, err := time.LoadLocation(s.flow().Hours.Timezone); err == nil && s.flow().Hours.Timezone != "" {
		return loc
	}
	return time.FixedZone("JST", 9*3600)
}

func (s *Service) claim(ctx context.Context, id, user string) error {
	var prev string
	var first bool
	c, err := s.st.update(ctx, id, func(c *Case) error {
		if c.Status == StatusClosed || (c.Status == StatusClaimed && c.Holder == user) {
			return errSkip
		}
		prev = c.Holder
		first = c.Claimed.IsZero()
		c.Status, c.Holder, c.Claimed = StatusClaimed, user, s.cfg.Now()
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return err
	}
	if first {
		// Time to claim is the wait for the first person; a later claim
		// after a transfer is not a resident waiting again.
		s.stats.Record(stats.Event{Kind: stats.Claimed, At: c.Claimed, Wait: c.Claimed.Sub(c.Created)})
	}
	note := "<@" + user + "> が担当します。"
	if prev != "" && prev != user {
		note = "担当が <@" + prev + "> から <@" + user + "> に代わりました。"
	}
	s.log.InfoContext(ctx, "case claimed", "case", id)
	if err := s.refreshCard(ctx, c); err != nil {
		return err
	}
	return s.postThread(ctx, c, ":raised_hand: "+note)
}

func (s *Service) transfer(ctx context.Context, id, user, cat string) error {
	if _, ok := s.flow().Category(cat); !ok {
		return permanent(fmt.Errorf("transfer to unknown category %q", cat))
	}
	c, err := s.st.get(ctx, id)
	if err != nil {
		return err
	}
	if c.Status == StatusClosed || c.Teams[0] == cat || c.Home == nil {
		return nil
	}
	old := *c.Home
	// The new card shows the case as the new team will hold it.
	next := *c
	next.Teams = append([]string{cat}, without(c.Teams, cat, old.Category)...)
	next.Status, next.Holder = StatusOpen, ""
	home, err := s.post(ctx, cat, &next)
	if err != nil {
		return err
	}
	c, err = s.st.update(ctx, id, func(c *Case) error {
		c.Others = append(c.Others, old)
		c.Teams = next.Teams
		c.Status, c.Holder = StatusOpen, ""
		c.Home = &home
		c.EscalatedFor = ""
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.st.linkThread(ctx, home.Channel, home.TS, id); err != nil {
		return err
	}
	// Replies in the old thread no longer reach the resident: one thread of truth.
	if err := s.st.moveThread(ctx, old.Channel, old.TS, id, s.cfg.Retention); err != nil {
		return err
	}
	blocks, text := s.movedCard(c, home)
	err = s.callSlack(ctx, s.paceKey(old.Channel), c.Urgent, func() error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, old.Channel, old.TS, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	if _, _, err := s.postMessage(ctx, old.Channel, c.Urgent, slack.MsgOptionTS(old.TS), slack.MsgOptionText(
		fmt.Sprintf(":arrow_right: <@%s> が *%s* に転送しました：<%s|新しいスレッド>。ここへの返信は相談者に届きません。", user, s.teamName(cat), home.Permalink), false)); err != nil {
		return err
	}
	if err := s.postThread(ctx, c, fmt.Sprintf(":arrow_left: %s から転送されました（<@%s>）：<%s|これまでのスレッド>", s.teamName(old.Category), user, old.Permalink)); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "case transferred", "case", id, "to", cat)
	return s.armEscalation(ctx, c)
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, v := range list {
		if !contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Service) addTeam(ctx context.Context, id, user, cat string) error {
	if _, ok := s.flow().Category(cat); !ok {
		return permanent(fmt.Errorf("add unknown category %q", cat))
	}
	c, err := s.st.update(ctx, id, func(c *Case) error {
		if c.Status == StatusClosed || contains(c.Teams, cat) {
			return errSkip
		}
		c.Teams = append(c.Teams, cat)
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return err
	}
	ch, ts, err := s.postMessage(ctx, s.channelOf(cat), c.Urgent, slack.MsgOptionText(fmt.Sprintf(
		":handshake: *相談 %s* への参加依頼（<@%s> より）\n分野：%s\n対応は1つのスレッドで：<%s|%sのスレッド>",
		c.ID, user, s.catNames(c.Categories), c.Home.Permalink, s.teamName(c.Home.Category)), false))
	if err != nil {
		return err
	}
	c, err = s.st.update(ctx, id, func(c *Case) error {
		c.Others = append(c.Others, Post{Channel: ch, TS: ts, Category: cat})
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "team added to case", "case", id, "category", cat)
	return s.postThread(ctx, c, fmt.Sprintf(":handshake: <@%s> が *%s* をこのケースに加えました。", user, s.teamName(cat)))
}

func (s *Service) close(ctx context.Context, id, user string) error {
	c, err := s.st.update(ctx, id, func(c *Case) error {
		if c.Status == StatusClosed {
			return errSkip
		}
		if c.Holder == "" {
			c.Holder = user
		}
		c.Status, c.Closed = StatusClosed, s.cfg.Now()
		return nil
	})
	switch {
	case errors.Is(err, errSkip):
		// Closed already; finish what a crashed earlier attempt may have left.
		c, err = s.st.get(ctx, id)
	case err == nil:
		s.stats.Record(stats.Event{Kind: stats.Closed, At: c.Closed})
	}
	if err != nil {
		return err
	}
	note := ":white_check_mark: <@" + user + "> がケースを終了しました。相談者には、また相談できることをお知らせしました。"
	resident, err := s.st.resident(ctx, id)
	switch {
	case errors.Is(err, errNoCase) || !c.Forgotten.IsZero():
		// The resident erased their data: there is no one to tell.
		note = ":white_check_mark: <@" + user + "> がケースを終了しました（相談者はデータを削除済みのため、お知らせは送っていません）。"
	case err != nil:
		return err
	default:
		if err := s.conv.CloseConversation(ctx, resident, id, "case-closed:"+id); err != nil {
			return fmt.Errorf("close conversation of case %s: %w", id, err)
		}
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return err
	}
	if err := s.postThread(ctx, c, note); err != nil {
		return err
	}
	// The case's keys took the retention when it was stored closed.
	s.log.InfoContext(ctx, "case closed", "case", id)
	return nil
}

func (s *Service) followUp(ctx context.Context, id, user string, at time.Time) error {
	// A check-in lands when staff are at work, so the answer finds someone.
	if next := s.flow().Hours.NextOpen(at); !next.IsZero() {
		at = next
	}
	c, err := s.st.update(ctx, id, func(c *Case) error {
		if c.Status == StatusClosed || !c.Forgotten.IsZero() {
			return errSkip // a stale card's select: there is no one to check in on
		}
		c.FollowUpAt = at
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.schedule(ctx, at, task{Kind: kindCheckin, Case: id}); err != nil {
		return err
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return err
	}
	return s.postThread(ctx, c, fmt.Sprintf(":calendar: <@%s> がフォローアップを予約しました：%s に相談者へ声かけを送ります。", user, s.localTime(at)))
}
