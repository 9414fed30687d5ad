package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
)

// maxMerged bounds the relays merged into one post, and mergedRunes its
// length: well under Slack's limit, and still readable as one message.
const (
	maxMerged   = 20
	mergedRunes = 3000
)

// line is one message of the resident's in a relay: its LINE message id
// ("" when unknown) and words. Unsent marks a message taken back.
type line struct {
	ID     string `json:"id,omitempty"`
	Text   string `json:"text,omitempty"`
	Unsent bool   `json:"unsent,omitempty"`
}

// relayPost is what the service keeps of a relay post in a thread, so that
// an unsend can redraw it without the words taken back.
type relayPost struct {
	Channel string `json:"ch"`
	TS      string `json:"ts"`
	Lines   []line `json:"lines"`
}

// unsentText replaces the words of a message the resident took back.
const unsentText = "（相談者が送信を取り消しました）"

// relayedKey is the hash of what an unsend needs: "post:<ts>" holds a relay
// post (relayPost, JSON), "line:<LINE message id>" the ts of the post that
// carried the message. One key per case, so that an erasure deletes it at once.
func (s *store) relayedKey(id string) string { return s.prefix + "case:{" + id + "}:relayed" }

// linesOf are a relay task's messages (a task queued before Lines carried
// its words in Text).
func linesOf(t task) []line {
	if len(t.Lines) == 0 && t.Text != "" {
		return []line{{Text: t.Text}}
	}
	return t.Lines
}

// relay posts the resident's words into the case thread. It waits for the
// channel's turn first and only then takes every relay of the case waiting
// at the head of its lane (take), so that a resident who writes faster than
// the channel may be posted to reaches staff in one post per turn, with
// nothing dropped. It returns the relays it posted.
func (s *Service) relay(ctx context.Context, caseID string, take func() []queued) ([]queued, error) {
	c, err := s.st.get(ctx, caseID)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if c.Home == nil {
		return nil, fmt.Errorf("relay to case %s: no card yet", caseID)
	}
	if c.Erased {
		// Words queued before an erasure that a retry brings again: they
		// were to be erased with the rest.
		s.log.InfoContext(ctx, "relay dropped: resident erased their words", "case", caseID)
		return take(), nil
	}
	channel := s.paceKey(c.Home.Channel)
	for {
		if err := s.pace.wait(ctx, channel, c.Urgent); err != nil {
			return nil, err
		}
		batch, lines := mergeRelays(take())
		ch, ts, err := s.api.PostMessageContext(ctx, c.Home.Channel, slack.MsgOptionText(renderRelay(lines), false), slack.MsgOptionTS(c.Home.TS))
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			// Take the turn again after Slack's wait, with what came meanwhile.
			s.log.WarnContext(ctx, "slack rate limited", "retry_after", rl.RetryAfter)
			s.pace.delay(channel, max(rl.RetryAfter, time.Second))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("relay to case %s: slack chat.postMessage: %w", caseID, err)
		}
		if err := s.keepRelay(ctx, caseID, relayPost{Channel: ch, TS: ts, Lines: lines}); err != nil {
			// The words reached staff; only a later unsend will not find them.
			s.log.WarnContext(ctx, "relay post not kept for unsend", "case", caseID, "err", err)
		}
		if err := s.st.addQuote(ctx, c, ch, ts); err != nil {
			// Posted: a retry would post it twice. Logged, and the post
			// stays out of an erasure's reach.
			s.log.ErrorContext(ctx, "relay posted but not remembered for erasure", "case", caseID, "err", err)
		}
		if len(batch) > 1 {
			s.log.InfoContext(ctx, "resident messages merged into one post", "case", caseID, "messages", len(batch))
		}
		return batch, nil
	}
}

// keepRelay remembers which post each LINE message went into, for as long
// as the resident could take it back.
func (s *Service) keepRelay(ctx context.Context, caseID string, p relayPost) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	fields := []any{"post:" + p.TS, b}
	for _, l := range p.Lines {
		if l.ID != "" {
			fields = append(fields, "line:"+l.ID, p.TS)
		}
	}
	// The TTL runs from the last relay, as the session's from the last message.
	key := s.st.relayedKey(caseID)
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, key, fields...)
		pipe.Expire(ctx, key, s.cfg.MessageTTL)
		return nil
	})
	return err
}

// unsend redraws the relay post that carried a message the resident took
// back, with the notice in place of its words.
func (s *Service) unsend(ctx context.Context, t task) error {
	if len(t.Lines) == 0 || t.Lines[0].ID == "" {
		return nil
	}
	id, key := t.Lines[0].ID, s.st.relayedKey(t.Case)
	ts, err := s.rdb.HGet(ctx, key, "line:"+id).Result()
	if errors.Is(err, redis.Nil) {
		// Never relayed (the case had no thread yet, it was long ago, or
		// the resident erased their data).
		s.log.InfoContext(ctx, "unsent message not found in the thread", "case", t.Case)
		return nil
	}
	if err != nil {
		return fmt.Errorf("unsend in case %s: %w", t.Case, err)
	}
	b, err := s.rdb.HGet(ctx, key, "post:"+ts).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unsend in case %s: %w", t.Case, err)
	}
	var p relayPost
	if err := json.Unmarshal(b, &p); err != nil {
		return permanent(fmt.Errorf("unsend in case %s: decode post: %w", t.Case, err))
	}
	for i := range p.Lines {
		if p.Lines[i].ID == id {
			p.Lines[i] = line{ID: id, Unsent: true}
		}
	}
	err = s.callSlack(ctx, s.paceKey(p.Channel), false, func() error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, p.Channel, p.TS, slack.MsgOptionText(renderRelay(p.Lines), false))
		return err
	})
	if err != nil {
		return fmt.Errorf("unsend in case %s: slack chat.update: %w", t.Case, err)
	}
	// The words are gone from the thread: they go from here too.
	if nb, err := json.Marshal(p); err == nil {
		if err := s.rdb.HSet(ctx, key, "post:"+ts, nb).Err(); err != nil {
			s.log.WarnContext(ctx, "unsent words not dropped from the kept post", "case", t.Case, "err", err)
		}
	}
	s.log.InfoContext(ctx, "resident's message withdrawn from the thread", "case", t.Case)
	return nil
}

// mergeRelays takes as many of the relays as fit one post, oldest first,
// and returns them with their messages.
func mergeRelays(relays []queued) ([]queued, []line) {
	var lines []line
	n, runes := 0, 0
	for _, q := range relays {
		ls := linesOf(q.t)
		r := 0
		for _, l := range ls {
			r += utf8.RuneCountInString(l.Text) + 2
		}
		if n > 0 && runes+r > mergedRunes {
			break
		}
		lines = append(lines, ls...)
		runes += r
		n++
	}
	return relays[:n], lines
}

// renderRelay renders a relay post: each message a paragraph of one quote.
func renderRelay(lines []line) string {
	var b strings.Builder
	b.WriteString(":speech_balloon: *相談者*")
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\n>")
		}
		b.WriteString("\n")
		if l.Unsent {
			b.WriteString("> _" + unsentText + "_")
			continue
		}
		b.WriteString(quote(l.Text))
	}
	return b.String()
}
