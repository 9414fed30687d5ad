package handoff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// maxMerged bounds the relays merged into one post, and mergedRunes its
// length: well under Slack's limit, and still readable as one message.
const (
	maxMerged   = 20
	mergedRunes = 3000
)

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
	channel := s.paceKey(c.Home.Channel)
	for {
		if err := s.pace.wait(ctx, channel, c.Urgent); err != nil {
			return nil, err
		}
		batch, text := mergeRelays(take())
		_, _, err := s.api.PostMessageContext(ctx, c.Home.Channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(c.Home.TS))
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
		if len(batch) > 1 {
			s.log.InfoContext(ctx, "resident messages merged into one post", "case", caseID, "messages", len(batch))
		}
		return batch, nil
	}
}

// mergeRelays renders as many of the relays as fit one post, oldest first,
// each message a paragraph of one quote.
func mergeRelays(relays []queued) ([]queued, string) {
	var b strings.Builder
	b.WriteString(":speech_balloon: *相談者*")
	n, runes := 0, 0
	for _, q := range relays {
		q := quote(q.t.Text)
		r := utf8.RuneCountInString(q)
		if n > 0 && runes+r > mergedRunes {
			break
		}
		if n > 0 {
			b.WriteString("\n>")
		}
		b.WriteString("\n")
		b.WriteString(q)
		runes += r
		n++
	}
	return relays[:n], b.String()
}
