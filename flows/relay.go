package flows

import (
	"slices"
	"strings"
	"time"
	"unicode"
)

// While staff have the case, the resident's words go to them. The bot
// still answers: silence after "I want to die" at 2 a.m. is the worst
// answer there is. It says the words arrived (the first time, then now and
// then), says plainly when a person will read them, answers 大丈夫です after
// a crisis answer warmly, and tells staff when the words point to another
// team.

// defaultAckEvery is how often a resident who keeps writing hears that
// their words arrived, when the flow does not say.
const defaultAckEvery = 3 * time.Hour

// relayText handles free text while staff have the case.
func (st *step) relayText(text string) {
	if st.detour() {
		return
	}
	if Normalize(text) == "" && !strings.ContainsFunc(text, unicode.IsGraphic) {
		// Nothing to pass on: reassure rather than stay silent.
		st.say(st.f.Text("handoff_done", st.s.Locale))
		return
	}
	safe := "" // the answer to a crisis answer's "are you safe?"
	if st.s.Crisis != "" {
		safe = st.f.triage.safeAnswer(st.cur)
	}
	switch {
	case st.f.triage.waiting.any(st.cur):
		st.answerWaiting()
	case st.f.triage.human.any(st.cur):
		// 人と話したい while a person has the case: they already do. A
		// question in the same words (電話で話したい、何番に？) is answered.
		if !st.answerQuestion(text) {
			st.say(st.f.Text("handoff_done", st.s.Locale))
		}
	case safe == "safe":
		// 大丈夫です after a crisis answer: warmth, an open door, and the
		// case stays urgent.
		st.say(st.fill(st.f.Text("after_crisis_ok", st.s.Locale)))
		st.warm = true
	case safe == "unsure":
		// わからない or a bare いいえ to "are you safe?" is not calm: the
		// next step that helps, and the lines that need no voice.
		st.say(st.fill(st.f.Text("after_crisis_unsure", st.s.Locale)))
	case st.answerQuestion(text):
	case st.s.Crisis != "":
		st.crisisAck()
	default:
		st.acknowledge()
	}
	st.remember(text)
	st.relay(text)
	st.retriage()
}

// crisisAck answers every message of a resident who was given the crisis
// numbers: silence then reads as nobody being there (i am in the bathroom,
// i cannot talk by phone). It says honestly that the words reach staff and
// when a person reads, and gives the kind's lines that take text, for
// those who cannot speak. Messages that follow close get the short form.
func (st *step) crisisAck() {
	now := st.in.Now
	if st.cur != nil && st.cur.question() {
		// 朝まで待ったほうがいい？ 救急車は大げさ？: a person cannot answer
		// before morning, so the answer is not to wait.
		st.say(st.f.Text("ack_crisis_question", st.s.Locale))
		return
	}
	if st.s.AckAt != 0 && !now.IsZero() && now.Sub(time.Unix(st.s.AckAt, 0)) < crisisAckFull {
		// The same line to every message reads as a machine in a loop.
		st.s.AckN++
		st.say(st.f.Text([]string{"ack_crisis_again", "ack_crisis_again2"}[st.s.AckN%2], st.s.Locale))
		return
	}
	st.s.AckAt = 1
	if !now.IsZero() {
		st.s.AckAt = now.Unix()
	}
	msg := st.f.Text("ack_crisis", st.s.Locale)
	var chats []string
	for _, id := range st.crisisNumbers(st.f.Crisis.Rules[st.f.ruleOfKind(st.s.Crisis)]) {
		for _, n := range st.f.Crisis.Numbers {
			if n.ID == id && strings.Contains(n.Number, "://") && st.f.availability(n, now) != lineClosed {
				chats = append(chats, id)
			}
		}
	}
	if lines := st.numberLines(chats); len(lines) > 0 {
		msg += "\n" + st.f.Text("ack_crisis_text", st.s.Locale) + "\n" + strings.Join(lines, "\n")
	}
	st.say(msg)
}

// crisisAckFull is how long after a full crisis acknowledgement the next
// message gets the short one.
const crisisAckFull = 10 * time.Minute

// acknowledge tells the resident their words arrived: after the first
// message that follows a handoff, then at most once per acknowledge.every.
// Outside business hours it says when a person will read them.
func (st *step) acknowledge() {
	now := st.in.Now
	since := func(at int64) bool { return now.IsZero() || now.Sub(time.Unix(at, 0)) < st.f.Acknowledge.every }
	// A question is never left without an answer: it is told a person will
	// answer it, in full at most once in questionEvery and briefly between.
	question := st.cur != nil && st.cur.question()
	if st.s.AckAt != 0 && since(st.s.AckAt) && !question {
		return
	}
	key := "ack_again"
	switch {
	case st.s.AckAt == 0:
		key = "ack_first"
	case question && st.s.AskAt != 0 && !now.IsZero() && now.Sub(time.Unix(st.s.AskAt, 0)) < questionEvery:
		key = "ack_question_again"
		question = false // keeps the time of the full answer
	case question:
		key = "ack_question"
	}
	stamp := int64(1)
	if !now.IsZero() {
		stamp = now.Unix()
	}
	st.s.AckAt = stamp
	if question {
		st.s.AskAt = stamp
	}
	st.say(st.fill(st.f.Text(key, st.s.Locale)))
	if !now.IsZero() && !st.f.Hours.Open(now) && !(st.s.Urgent && st.f.Hours.NightDuty) {
		// When a person will read it, once a day, as the out-of-hours text.
		if day := st.f.Hours.LocalDay(now); st.s.OutOfHoursDay != day {
			st.s.OutOfHoursDay = day
			st.say(st.fill(st.f.Text("ack_closed", st.s.Locale)))
		}
	}
}

// questionEvery is how often a question while staff have the case is told
// that a person will answer it.
const questionEvery = 10 * time.Minute

// maxSuggested bounds the categories suggested to staff for one case.
const maxSuggested = 4

// retriage suggests to staff the teams the resident's later words point to:
// a need that only became clear after the handoff still reaches the right
// people. Staff decide on transfers.
func (st *step) retriage() {
	if len(st.s.Suggested) >= maxSuggested {
		return
	}
	cats := st.triage().Categories
	var fresh []string
	for _, c := range cats[:min(2, len(cats))] {
		if c != "general" && !slices.Contains(st.s.Suggested, c) && !slices.Contains(st.s.Chosen, c) {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) == 0 {
		return
	}
	st.s.Suggested = append(st.s.Suggested, fresh...)
	st.actions = append(st.actions, Retriage{Case: st.s.Case, Categories: fresh})
	if len(st.bubbles) == 0 {
		// A need that comes up later is heard, not only passed on.
		var names []string
		for _, id := range fresh {
			if c, ok := st.f.Category(id); ok {
				names = append(names, c.Name.In(st.s.Locale, st.f.Locale()))
			}
		}
		st.say(strings.ReplaceAll(st.f.Text("ack_more", st.s.Locale), "{categories}", strings.Join(names, st.f.Text("list_joiner", st.s.Locale))))
	}
}
