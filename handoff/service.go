// Package handoff is tsunagu's Slack side: it turns a flow's Handoff into a
// case with a card in the team's channel, relays the resident's words into
// the case thread and the staff's thread replies back to the resident on
// LINE, and carries the staff's buttons (claim, transfer, add a team, close,
// follow-up), escalation reminders and scheduled check-ins. Staff never see
// the resident's LINE identity: a case is a short ID, and the link from the
// case to the resident stays in Redis.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/stats"
)

// Pusher sends texts to a resident on LINE by push. key is a stable name
// of the send (a Slack event, a check-in); the LINE side derives its retry
// keys from it, so that LINE refuses a repeated push, and reports such a
// refusal as success. A text too long for LINE is split into a few
// messages; cut is how much did not fit and was not sent. An error with a
// Permanent method reporting true is a refusal that no retry will change.
type Pusher interface {
	Push(ctx context.Context, userID, key string, texts ...string) (cut int, err error)
}

// Conversations tells the resident's conversation that staff closed the
// case: the bot steps the flow with a case-closed event, which says the
// flow's case_closed text. Idempotent by key.
type Conversations interface {
	CloseConversation(ctx context.Context, userID, caseID, key string) error
}

// Stats counts case events for the statistics (package stats). Record
// must not wait or fail: the counters are best-effort, the case is not.
type Stats interface {
	Record(stats.Event)
}

// noStats counts nothing.
type noStats struct{}

func (noStats) Record(stats.Event) {}

// Deps are what the service works with.
type Deps struct {
	// Redis holds cases, the queue and scheduled work.
	Redis redis.UniversalClient
	// Flow gives categories, channels, texts and business hours.
	Flow *flows.Flow
	// Pusher reaches residents on LINE.
	Pusher Pusher
	// Conversations is told when a case closes.
	Conversations Conversations
	// Log receives case ids and what happened to them, never LINE ids or
	// what residents wrote; a discarding logger when nil.
	Log *slog.Logger
	// Stats counts opened, claimed and closed cases and crises; nothing
	// is counted when nil.
	Stats Stats
	// Observer times the calls to Slack; none when nil.
	Observer Observer
}

// Service is the Slack handoff: construct it with New, mount EventsHandler
// and InteractionsHandler, and run Run in the background.
type Service struct {
	cfg Config
	rdb redis.UniversalClient
	// flowp is the flow (categories, channels, texts, hours); SetFlow replaces it.
	flowp atomic.Pointer[flows.Flow]
	push  Pusher
	conv  Conversations
	api   *slack.Client
	st    *store
	pace  *pacer
	log   *slog.Logger
	stats Stats
	chans sync.Map // configured channel name -> channel id learned from Slack
	names sync.Map // Slack user id -> memberName

	obs Observer

	mu        sync.RWMutex
	botUserID string

	// attempts bounds the tries of a task after temporary failures and
	// backoff is the pause before the nth retry; tests shorten them.
	attempts int
	backoff  func(n int) time.Duration
	// authErr is why Slack is not known to accept the token; nil once
	// auth.test passed and no call was refused for the token since.
	authErr error
}

// New checks the configuration and builds the service; it does not touch
// the network.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("slack handoff: %w", err)
	}
	if deps.Redis == nil || deps.Flow == nil || deps.Pusher == nil || deps.Conversations == nil {
		return nil, errors.New("slack handoff: Redis, Flow, Pusher and Conversations are required")
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	counts := deps.Stats
	if counts == nil {
		counts = noStats{}
	}
	obs := deps.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	s := &Service{
		stats:   counts,
		obs:     obs,
		authErr: errNotAuthed,
		cfg:     cfg,
		rdb:     deps.Redis,
		push:    deps.Pusher,
		conv:    deps.Conversations,
		st:      &store{rdb: deps.Redis, prefix: cfg.KeyPrefix, now: cfg.Now, openMax: cfg.OpenCaseMax, retention: cfg.Retention},
		pace:    newPacer(cfg.ChannelInterval, cfg.Now),
		log:     log,

		attempts: maxAttempts,
		backoff:  backoff,
	}
	s.flowp.Store(deps.Flow)
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIBaseURL),
		slack.OptionHTTPClient(observedClient{c: &http.Client{Timeout: 30 * time.Second}, s: s})}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	s.api = slack.New(cfg.BotToken, opts...)
	return s, nil
}

// Run learns the bot's own user id, then works the queue, moves due
// escalations and check-ins into it, and (with an app token) runs Socket
// Mode, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for {
		err := s.authTest(ctx)
		if err == nil {
			break
		}
		s.setAuth(err)
		s.log.ErrorContext(ctx, "slack auth.test failed, retrying; handoffs wait", "err", err)
		sleep(ctx, min(5*time.Second, s.cfg.AuthCheckInterval))
		if ctx.Err() != nil {
			return nil
		}
	}
	for {
		err := s.ensureGroup(ctx)
		if err == nil {
			break
		}
		s.log.ErrorContext(ctx, "handoff queue unavailable, retrying", "err", err)
		sleep(ctx, s.cfg.PollInterval)
		if ctx.Err() != nil {
			return nil
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.recheckAuth(ctx) })
	wg.Go(func() { s.poll(ctx) })
	wg.Go(func() { s.work(ctx) })
	var err error
	if s.cfg.AppToken != "" {
		err = s.runSocketMode(ctx)
	}
	wg.Wait()
	return err
}

func (s *Service) authTest(ctx context.Context) error {
	var r *slack.AuthTestResponse
	err := s.callSlack(ctx, "", false, func() (err error) {
		r, err = s.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	s.mu.Lock()
	s.botUserID = r.UserID
	s.authErr = nil
	s.mu.Unlock()
	return nil
}

// recheckAuth repeats auth.test every AuthCheckInterval, so that a revoked
// token or an unreachable Slack shows in Ready, and its return too.
func (s *Service) recheckAuth(ctx context.Context) {
	t := time.NewTicker(s.cfg.AuthCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		was := s.Ready()
		err := s.authTest(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.setAuth(err)
			if was == nil {
				s.log.ErrorContext(ctx, "slack auth.test failed; not ready until it passes", "err", err)
			}
		case was != nil:
			s.log.InfoContext(ctx, "slack auth.test passes again")
		}
	}
}

// flow is the flow in use now.
func (s *Service) flow() *flows.Flow { return s.flowp.Load() }

// SetFlow makes later work use f (a reloaded flow): new cards go to its
// channels, with its categories, texts and hours.
func (s *Service) SetFlow(f *flows.Flow) { s.flowp.Store(f) }

func (s *Service) self() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.botUserID
}

// Open records a new case for a handoff and queues its card, and returns
// the case id at once: the card is posted by the queue's workers. Called
// again with the same key it returns the same case.
func (s *Service) Open(ctx context.Context, userID string, h flows.Handoff, key string) (string, error) {
	now := s.cfg.Now()
	c := &Case{
		Key:        key,
		Categories: h.Categories,
		Urgent:     h.Urgent || h.Crisis != "",
		Crisis:     h.Crisis,
		Compound:   h.Compound,
		Patterns:   h.Patterns,
		Status:     StatusOpen,
		Locale:     h.Locale,
		OutOfHours: !s.flow().Hours.Open(now),
		Said:       summarise(h.Said, 3, 200),
		Chose:      summarise(h.Chose, 6, 40),
		PrevCase:   h.Reopen,
		CheckKind:  h.CheckKind,
		Checked:    h.Checked,
		Created:    now,
		Updated:    now,
	}
	if len(c.Categories) == 0 {
		c.Categories = []string{"general"}
	}
	c.Teams = []string{s.homeCategory(c.Categories)}
	if c.Locale == "" {
		c.Locale = s.flow().Locale()
	}
	fresh, err := s.st.create(ctx, c, userID)
	if err != nil {
		return "", fmt.Errorf("open case: %w", err)
	}
	if _, err := s.enqueue(ctx, task{Kind: kindCard, Case: c.ID}, "card:"+c.ID); err != nil {
		return "", fmt.Errorf("open case %s: %w", c.ID, err)
	}
	if fresh {
		s.log.InfoContext(ctx, "case opened", "case", c.ID, "urgent", c.Urgent, "compound", c.Compound)
		s.stats.Record(stats.Event{
			Kind: stats.Opened, At: c.Created, Category: c.Teams[0], Needs: c.Categories,
			Urgent: c.Urgent, CrisisKind: c.Crisis, Patterns: c.Patterns,
			OutOfHours: c.OutOfHours, Reopened: c.PrevCase != "",
		})
	}
	return c.ID, nil
}

// Escalate queues the escalation of an open case after a crisis during it:
// the card turns urgent, the thread gets a note mentioning the urgent
// group, and the unclaimed reminder comes sooner. Idempotent by key.
func (s *Service) Escalate(ctx context.Context, caseID string, h flows.Handoff, key string) error {
	_, err := s.enqueue(ctx, task{Kind: kindUrgent, Case: caseID, Crisis: h.Crisis, Text: h.Checked}, "esc:"+key)
	return err
}

// Suggest queues needs the resident's later words point to, for the card
// and the thread. Idempotent by key.
func (s *Service) Suggest(ctx context.Context, caseID string, categories []string, key string) error {
	_, err := s.enqueue(ctx, task{Kind: kindSuggest, Case: caseID, Cats: categories}, "suggest:"+key)
	return err
}

// CheckAsked queues a thread note that the safety check was asked about
// kind. Idempotent by key.
func (s *Service) CheckAsked(ctx context.Context, caseID, kind, key string) error {
	_, err := s.enqueue(ctx, task{Kind: kindCheck, Case: caseID, Crisis: kind}, "check:"+key)
	return err
}

// suggest does a queued suggestion: the card lists the needs, and the
// thread says where they came from.
func (s *Service) suggest(ctx context.Context, t task) error {
	var fresh []string
	c, err := s.st.update(ctx, t.Case, func(c *Case) error {
		fresh = nil
		for _, id := range t.Cats {
			if !contains(c.Suggested, id) && !contains(c.Teams, id) {
				c.Suggested = append(c.Suggested, id)
				fresh = append(fresh, id)
			}
		}
		return nil
	})
	if errors.Is(err, errNoCase) {
		return nil // expired: nothing to suggest to
	}
	if err != nil {
		return fmt.Errorf("suggest: %w", err)
	}
	if len(fresh) == 0 {
		return nil
	}
	note := ":bulb: 相談者の後の言葉から、ほかの分野の可能性：" + s.catNames(fresh) + "（移管・追加は担当者が判断してください）"
	if err := s.postThread(ctx, c, note); err != nil {
		return fmt.Errorf("suggest for case %s: %w", t.Case, err)
	}
	return s.refreshCard(ctx, c)
}

// checkAsked notes in the thread that the safety check was asked.
func (s *Service) checkAsked(ctx context.Context, t task) error {
	c, err := s.st.update(ctx, t.Case, func(c *Case) error {
		c.CheckKind, c.Checked = t.Crisis, ""
		return nil
	})
	if errors.Is(err, errNoCase) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check asked: %w", err)
	}
	note := ":lifebuoy: 相談者の言葉から、安全の確認（" + CrisisName(t.Crisis) + "）を尋ねました。「はい」「わからない」の答えは緊急として知らせます。"
	if err := s.postThread(ctx, c, note); err != nil {
		return fmt.Errorf("check asked in case %s: %w", t.Case, err)
	}
	return s.refreshCard(ctx, c)
}

// Relay queues the resident's messages (texts, with their LINE message ids
// in ids) for the case thread. Idempotent by key.
func (s *Service) Relay(ctx context.Context, caseID, key string, texts, ids []string) error {
	lines := make([]line, len(texts))
	for i, t := range texts {
		lines[i].Text = t
		if i < len(ids) {
			lines[i].ID = ids[i]
		}
	}
	_, err := s.enqueue(ctx, task{Kind: kindRelay, Case: caseID, Lines: lines}, "relay:"+key)
	return err
}

// Unsend queues the withdrawal of a relayed message from the case thread.
// Idempotent by key.
func (s *Service) Unsend(ctx context.Context, caseID, messageID, key string) error {
	_, err := s.enqueue(ctx, task{Kind: kindUnsend, Case: caseID, Lines: []line{{ID: messageID}}}, "unsend:"+key)
	return err
}

// homeCategory is the first category the flow knows, so that a category
// removed from the YAML still lands somewhere (general).
func (s *Service) homeCategory(cats []string) string {
	for _, id := range cats {
		if _, ok := s.flow().Category(id); ok {
			return id
		}
	}
	return "general"
}

// postCard posts the case card (and the coordination post of a compound
// case) unless that was done already. A case's work is done in order by
// one lane, so no second card is posted beside the first.
func (s *Service) postCard(ctx context.Context, id string) error {
	c, err := s.st.get(ctx, id)
	if err != nil {
		return err
	}
	if c.Home == nil {
		if c.PrevCase != "" && c.PrevLink == "" {
			if prev, err := s.st.get(ctx, c.PrevCase); err == nil && prev.Home != nil {
				c.PrevLink = prev.Home.Permalink
			}
		}
		home, err := s.post(ctx, c.Teams[0], c)
		if err != nil {
			return err
		}
		c, err = s.st.update(ctx, id, func(c2 *Case) error {
			c2.Home = &home
			c2.PrevLink = c.PrevLink
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.st.linkThread(ctx, home.Channel, home.TS, id); err != nil {
			return err
		}
		if err := s.armEscalation(ctx, c); err != nil {
			return err
		}
		if err := s.armExpiry(ctx, id, s.cfg.OpenCaseMax); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "case card posted", "case", id)
	}
	if c.Compound && !c.hasCoordination() && s.flow().Coordination.Channel != "" {
		return s.postCoordination(ctx, c)
	}
	return nil
}

func (c *Case) hasCoordination() bool {
	for _, p := range c.Others {
		if p.Category == "" {
			return true
		}
	}
	return false
}

// post posts a fresh card for c in the channel of category cat and returns
// where it landed.
func (s *Service) post(ctx context.Context, cat string, c *Case) (Post, error) {
	channel := s.channelOf(cat)
	blocks, text := s.card(c)
	ch, ts, err := s.postMessage(ctx, channel, c.Urgent, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	if err != nil {
		return Post{}, err
	}
	return Post{Channel: ch, TS: ts, Category: cat, Permalink: s.permalink(ctx, ch, ts)}, nil
}

func (s *Service) channelOf(cat string) string {
	if c, ok := s.flow().Category(cat); ok && c.Channel != "" {
		return c.Channel
	}
	c, _ := s.flow().Category("general")
	return c.Channel
}

// paceKey is the key a channel is paced under: its id once Slack told us.
func (s *Service) paceKey(channel string) string {
	if id, ok := s.chans.Load(channel); ok {
		return id.(string)
	}
	return channel
}

// postMessage posts, paced per channel (urgent posts first); it remembers
// the channel id Slack answers for a channel name so that later posts
// share the same pace.
func (s *Service) postMessage(ctx context.Context, channel string, urgent bool, opts ...slack.MsgOption) (string, string, error) {
	var ch, ts string
	err := s.callSlack(ctx, s.paceKey(channel), urgent, func() (err error) {
		ch, ts, err = s.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("slack chat.postMessage: %w", err)
	}
	if _, known := s.chans.LoadOrStore(channel, ch); !known && ch != channel {
		s.pace.alias(channel, ch)
	}
	return ch, ts, nil
}

// permalink asks Slack for a message link and falls back to building it:
// a missing link must not stop a case from being opened.
func (s *Service) permalink(ctx context.Context, channel, ts string) string {
	var link string
	err := s.callSlack(ctx, "", false, func() (err error) {
		link, err = s.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	if err != nil || link == "" {
		s.log.WarnContext(ctx, "slack chat.getPermalink gave no link; built one", "err", err)
		return "https://slack.com/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
	}
	return link
}

// postThread posts a note into the case's home thread.
func (s *Service) postThread(ctx context.Context, c *Case, text string) error {
	if c.Home == nil {
		return fmt.Errorf("case %s has no card yet", c.ID)
	}
	_, _, err := s.postMessage(ctx, c.Home.Channel, c.Urgent, slack.MsgOptionText(text, false), slack.MsgOptionTS(c.Home.TS))
	return err
}

// refreshCard redraws the home card after a change.
func (s *Service) refreshCard(ctx context.Context, c *Case) error {
	if c.Home == nil {
		return nil
	}
	blocks, text := s.card(c)
	err := s.callSlack(ctx, s.paceKey(c.Home.Channel), c.Urgent, func() error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, c.Home.Channel, c.Home.TS, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	return nil
}

func (s *Service) postCoordination(ctx context.Context, c *Case) error {
	ch, ts, err := s.postMessage(ctx, s.flow().Coordination.Channel, c.Urgent, slack.MsgOptionText(s.coordinationText(c), false))
	if err != nil {
		return err
	}
	_, err = s.st.update(ctx, c.ID, func(c *Case) error {
		c.Others = append(c.Others, Post{Channel: ch, TS: ts})
		return nil
	})
	return err
}

func (s *Service) urgentNote(c *Case) string {
	m := mention(s.cfg.UrgentMention)
	kind := ""
	if c.Crisis != "" {
		kind = "（" + CrisisName(c.Crisis) + "）"
	}
	return strings.TrimSpace(m + " :rotating_light: 緊急ケース " + c.ID + kind + "：相談者には緊急連絡先を案内済みです。すぐに担当してください。")
}

// escalate does a queued escalation: the case turns urgent, the thread
// gets a note mentioning the urgent group, the card is redrawn and the
// unclaimed reminder comes sooner.
func (s *Service) escalate(ctx context.Context, t task) error {
	var newKind bool
	c, err := s.st.update(ctx, t.Case, func(c *Case) error {
		c.Urgent = true
		// Counted once per case and kind: a retried escalation finds the
		// kind set already.
		newKind = t.Crisis != "" && c.Crisis != t.Crisis
		if t.Crisis != "" {
			c.Crisis = t.Crisis
		}
		if t.Text != "" && c.CheckKind != "" {
			c.Checked = t.Text // the safety check answered yes or not sure
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("escalate: %w", err)
	}
	if newKind {
		s.stats.Record(stats.Event{Kind: stats.Crisis, At: c.Updated, CrisisKind: t.Crisis})
	}
	if err := s.postThread(ctx, c, s.urgentNote(c)); err != nil {
		return fmt.Errorf("escalate case %s: %w", t.Case, err)
	}
	if err := s.refreshCard(ctx, c); err != nil {
		return fmt.Errorf("escalate case %s: %w", t.Case, err)
	}
	if c.Status == StatusOpen {
		if err := s.armEscalation(ctx, c); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "case escalated", "case", t.Case)
	return nil
}
