package flows

import (
	"fmt"
	"strings"
	"time"
)

// A step's answer is a few LINE bubbles. Most answers are one; a crisis
// answer is several short ones, because a wall of text on a phone at 2 a.m.
// hides the one number that matters.

// say adds a paragraph to the current bubble; the buttons offered so far
// belong to text that is no longer last, so they go.
func (st *step) say(text string) {
	if text = strings.TrimSpace(st.fill(text)); text == "" {
		return
	}
	if n := len(st.bubbles); n == 0 {
		st.bubbles = append(st.bubbles, nil)
	}
	st.bubbles[len(st.bubbles)-1] = append(st.bubbles[len(st.bubbles)-1], text)
	st.choices = nil
}

// bubble starts a new LINE bubble for what is said next.
func (st *step) bubble() {
	if n := len(st.bubbles); n > 0 && len(st.bubbles[n-1]) > 0 {
		st.bubbles = append(st.bubbles, nil)
	}
}

func (st *step) finish() (Session, []Action) {
	if st.privacy {
		// The privacy notice opens a first conversation as its own bubble,
		// but never before a crisis answer: it waits for the next reply.
		if st.crisisKind != "" || st.s.Crisis != "" && st.crisisAnswered {
			st.s.PrivacyDue = true
		} else {
			st.bubbles = append([][]string{{st.fill(st.f.Text("privacy", st.s.Locale))}}, st.bubbles...)
			st.s.PrivacyDue = false
		}
	} else if st.s.PrivacyDue && !st.crisisAnswered && !st.warm && len(st.bubbles) > 0 {
		// Later in the talk: what happens to the words and how to erase
		// them, without a second welcome.
		st.bubbles = append(st.bubbles, []string{st.f.Text("privacy_later", st.s.Locale)})
		st.s.PrivacyDue = false
	}
	var replies []Action
	for _, b := range st.bubbles {
		if len(b) > 0 {
			replies = append(replies, Reply{Text: strings.Join(b, "\n\n")})
		}
	}
	if n := len(replies); n > 0 {
		last := replies[n-1].(Reply)
		last.QuickReplies = st.choices
		replies[n-1] = last
	}
	// Replies go first: LINE sends them as one batch, before anything slow.
	st.actions = append(replies, st.actions...)
	return st.s, st.actions
}

// fill replaces the placeholders a text may use: {greeting}, {hours},
// {next_open}, {phone}, {address}.
func (st *step) fill(text string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	loc := st.s.Locale
	r := strings.NewReplacer(
		"{greeting}", st.greeting(),
		"{hours}", st.f.Hours.describe(loc, st.f.Locale()),
		"{next_open}", st.nextOpen(),
		"{status}", st.status(),
		"{phone}", st.f.Contact.Phone,
		"{address}", st.f.Contact.Address.In(loc, st.f.Locale()),
	)
	return r.Replace(text)
}

// greeting follows the time of day: こんばんは at 22:30, not こんにちは.
func (st *step) greeting() string {
	key := "greeting_day"
	if !st.in.Now.IsZero() {
		switch h := st.in.Now.In(st.f.Hours.location).Hour(); {
		case h >= 4 && h < 10:
			key = "greeting_morning"
		case h >= 18 || h < 5:
			key = "greeting_evening"
		}
	}
	return st.f.Text(key, st.s.Locale)
}

// nextOpen is when a person will next be at the desk, written for the
// resident, or "" when unknown.
func (st *step) nextOpen() string {
	if st.in.Now.IsZero() {
		return ""
	}
	next := st.f.Hours.NextOpen(st.in.Now)
	if next.IsZero() {
		return ""
	}
	if !next.After(st.in.Now) {
		next = st.in.Now
	}
	return st.f.formatTime(next, st.s.Locale)
}

// status says whether a person is at the desk now, or when one will be.
func (st *step) status() string {
	if st.in.Now.IsZero() {
		return ""
	}
	if st.f.Hours.Open(st.in.Now) {
		return st.f.Text("status_open", st.s.Locale)
	}
	return strings.ReplaceAll(st.f.Text("status_closed", st.s.Locale), "{next_open}", st.nextOpen())
}

// answerWaiting answers まだですか while staff have the case: honestly, when
// a person will read it. Night duty reads urgent cases at night.
func (st *step) answerWaiting() {
	key := "waiting_open"
	if now := st.in.Now; !now.IsZero() && !st.f.Hours.Open(now) && !(st.s.Urgent && st.f.Hours.NightDuty) {
		key = "waiting_closed"
	}
	st.say(st.fill(st.f.Text(key, st.s.Locale)))
}

// outOfHours adds the out-of-hours text once a day, so it does not ride on
// top of every message.
func (st *step) outOfHours() {
	if st.in.Now.IsZero() || st.f.Hours.Open(st.in.Now) {
		return
	}
	day := st.f.Hours.LocalDay(st.in.Now)
	if st.s.OutOfHoursDay == day {
		return
	}
	st.s.OutOfHoursDay = day
	choices := st.choices
	st.say(st.fill(strings.ReplaceAll(st.f.Text("out_of_hours", st.s.Locale), "{next_open}", st.nextOpen())))
	st.choices = choices
}

// numberLines writes the numbers with these ids, one per line:
// ☎ number name（hours）.
func (st *step) numberLines(ids []string) []string {
	open, close := "（", "）"
	if st.s.Locale == "en" {
		open, close = " (", ")"
	}
	var lines []string
	for _, id := range ids {
		for _, n := range st.f.Crisis.Numbers {
			if n.ID != id {
				continue
			}
			mark := "☎"
			if strings.Contains(n.Number, "://") {
				mark = "🔗" // a chat service, not a phone line
			}
			lines = append(lines, fmt.Sprintf("%s %s %s%s%s%s", mark, n.Number,
				n.Name.In(st.s.Locale, st.f.Locale()), open, n.Hours.In(st.s.Locale, st.f.Locale()), close))
		}
	}
	return lines
}

// formatTime writes a time the way a resident reads it in their language:
// やさしい日本語 avoids kanji.
func (f *Flow) formatTime(t time.Time, locale string) string {
	t = t.In(f.Hours.location)
	switch {
	case strings.HasPrefix(locale, "en"):
		return t.Format("Mon 2 Jan 15:04")
	case locale == "easy-ja":
		wd := []string{"にちようび", "げつようび", "かようび", "すいようび", "もくようび", "きんようび", "どようび"}[t.Weekday()]
		return fmt.Sprintf("%dがつ%dにち（%s）%d:%02d", t.Month(), t.Day(), wd, t.Hour(), t.Minute())
	}
	wd := []string{"日", "月", "火", "水", "木", "金", "土"}[t.Weekday()]
	return fmt.Sprintf("%d月%d日（%s）%d時%02d分", t.Month(), t.Day(), wd, t.Hour(), t.Minute())
}
