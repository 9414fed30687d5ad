package bot

import (
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// rateState counts a resident's events in the current window; it is kept
// in their record and saved with it.
type rateState struct {
	start uint32 // unix seconds the window began
	count uint32
	noted bool // the gentle note was sent in this window
}

// RateLimit is how fast a resident may write before the bot answers with a
// gentle note: N events per Per. Nothing a resident writes is dropped: over
// the limit, their words still reach the flow and staff, merged into fewer
// relays. The zero value (N 0) is no limit.
type RateLimit struct {
	N   int
	Per time.Duration
}

// count counts one event at at and reports whether the resident is over the
// limit, and whether this is the event that should carry the note (once per
// window).
func (l RateLimit) count(st *rateState, at time.Time) (over, note bool) {
	if l.N <= 0 || l.Per <= 0 {
		return false, false
	}
	now := uint32(max(at.Unix(), 0))
	if st.start == 0 || now < st.start || time.Duration(now-st.start)*time.Second >= l.Per {
		*st = rateState{start: now}
	}
	st.count++
	if int(st.count) <= l.N {
		return false, false
	}
	note = !st.noted
	st.noted = true
	return true, note
}

// slowDownKey is the flow text the note says, when the flow has one.
const slowDownKey = "slow_down"

// slowDown is the note when the flow has no slow_down text: that every
// message arrives, and there is no hurry.
var slowDown = map[string]string{
	"ja":      "たくさん書いてくれて、ありがとうございます。メッセージはすべて受け取っています。ゆっくりで大丈夫です。",
	"easy-ja": "たくさん かいて くれて ありがとう ございます。メッセージは ぜんぶ とどいて います。ゆっくりで だいじょうぶ です。",
	"en":      "Thank you for writing. Every message you send reaches us; there is no need to hurry.",
}

// slowDownText is the note in the resident's language.
func slowDownText(f *flows.Flow, locale string) string {
	if t := f.Text(slowDownKey, locale); t != "" {
		return t
	}
	if t, ok := slowDown[locale]; ok {
		return t
	}
	if t, ok := slowDown[f.Locale()]; ok {
		return t
	}
	return slowDown["ja"]
}
