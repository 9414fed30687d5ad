package handoff

import (
	"context"
	"errors"

	"github.com/slack-go/slack/socketmode"
)

// runSocketMode receives events and interactions over Socket Mode, for
// cities that cannot expose a public URL. Each payload goes through the
// same intake as the HTTP endpoints and is acknowledged only once stored,
// so Slack redelivers what a crash or a Redis outage did not keep.
func (s *Service) runSocketMode(ctx context.Context) error {
	sm := socketmode.New(s.api)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt, ok := <-sm.Events:
				if !ok {
					return
				}
				if s.socketEvent(ctx, evt) {
					if err := sm.Ack(*evt.Request); err != nil {
						s.log.WarnContext(ctx, "socket mode ack failed", "err", err)
					}
				}
			}
		}
	}()
	err := sm.RunContext(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// socketEvent stores one Socket Mode event and reports whether it should
// be acknowledged.
func (s *Service) socketEvent(ctx context.Context, evt socketmode.Event) bool {
	if evt.Request == nil {
		return false // connection events: nothing to acknowledge
	}
	var err error
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		_, err = s.intakeEvent(ctx, evt.Request.Payload)
	case socketmode.EventTypeInteractive:
		err = s.intakeInteraction(ctx, evt.Request.Payload)
	case socketmode.EventTypeSlashCommand:
		// No slash commands: acknowledge so Slack does not retry.
	default:
		return false
	}
	var perm permanentError
	if err != nil && !errors.As(err, &perm) {
		s.log.ErrorContext(ctx, "socket mode payload not stored", "type", string(evt.Type), "err", err)
		return false
	}
	return true
}
