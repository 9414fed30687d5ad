package bot

import "time"

// Observer is told what the LINE side does, for the service's metrics. Its
// methods are called on the hot path: they must be cheap, never block and
// be safe for concurrent use. What it is given is bounded (operations,
// statuses, the flow's categories and crisis kinds), never an id or a text.
type Observer interface {
	// EventsAccepted is told the webhook stored n events in the intake.
	EventsAccepted(n int)
	// EventsProcessed is told n intake entries were worked and acknowledged.
	EventsProcessed(n int)
	// EventsFailed is told n entries could not be worked now and wait for a retry.
	EventsFailed(n int)
	// IntakeLag is told an entry was stepped d after the intake accepted it.
	IntakeLag(d time.Duration)
	// LINECall is told one HTTP call to LINE ended with status (0 when
	// LINE did not answer) after d.
	LINECall(op string, status int, d time.Duration)
	// Handoff is told a case was opened for category (its home team).
	Handoff(category string, urgent bool)
	// Crisis is told the flow gave a crisis verdict of kind.
	Crisis(kind string)
	// SafetyCheck is told the flow asked the safety check about kind.
	SafetyCheck(kind string)
}

// nopObserver is the Observer of a caller that gave none.
type nopObserver struct{}

func (nopObserver) EventsAccepted(int)                  {}
func (nopObserver) EventsProcessed(int)                 {}
func (nopObserver) EventsFailed(int)                    {}
func (nopObserver) IntakeLag(time.Duration)             {}
func (nopObserver) LINECall(string, int, time.Duration) {}
func (nopObserver) Handoff(string, bool)                {}
func (nopObserver) Crisis(string)                       {}
func (nopObserver) SafetyCheck(string)                  {}
