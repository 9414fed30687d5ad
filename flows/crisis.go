package flows

import (
	"strings"
	"unicode/utf8"
)

// firstNumbers is how many of a crisis rule's numbers go in the first
// bubble, with the words of care: the one or two that fit the kind.
const firstNumbers = 2

// crisis checks the crisis rules on this message (with the one before it,
// for a phrase split in two) and, on a clear match, gives the numbers and
// hands off urgently, in this very step. Signs that are not clear add up
// over the recent messages: enough of them are a crisis too; fewer ask the
// safety check.
func (st *step) crisis(text string) bool {
	t := st.f.triage
	cur := t.crisisOf(st.cur)
	if st.s.Young && cur.rule < 0 {
		t.youngSigns(st.cur, &cur)
	}
	if cur.rule < 0 {
		if n := len(st.s.Recent); n > 0 && !st.s.HandedOff && utf8.RuneCountInString(st.s.Recent[n-1]) <= splitPhraseRunes {
			if joint := t.crisisOf(t.read(st.s.Recent[n-1] + text)); joint.rule >= 0 {
				cur = joint
			}
		}
	}
	if cur.rule >= 0 {
		st.crisisAnswer(cur.rule, text, "")
		return true
	}
	if len(cur.signs) == 0 {
		return false
	}
	if st.s.Crisis != "" {
		// After the numbers were given, a new sign (自分が怖い) is not left
		// to a routine acknowledgement: the short answer, with the lines.
		st.crisisAnswer(cur.signs[0].rule, text, "")
		return true
	}
	var readings []crisisReading
	for _, m := range st.recentMessages() {
		readings = append(readings, t.crisisOf(m))
	}
	rk := t.assess(append(readings, cur))
	if rk.crisis {
		st.crisisAnswer(rk.rule, text, "")
		return true
	}
	if st.s.CheckOpen {
		// Asked, and answered with words that are themselves a sign (夫と
		// 一緒に遠くに行こうかな): not a "no" and not nothing.
		st.crisisAnswer(rk.rule, text, answerUnsure)
		return true
	}
	if st.s.Checked == answerNone {
		// The check went unanswered and the signs go on: the crisis answer.
		st.crisisAnswer(rk.rule, text, "")
		return true
	}
	if st.s.CheckOpen || st.s.Checked != "" {
		// Asked already: the answer stands until the signs add up.
		return false
	}
	st.askCheck(rk.rule, text)
	return true
}

// splitPhraseRunes is the longest previous message read together with the
// current one: a phrase split in two ("死に" / "たい") comes in short pieces.
const splitPhraseRunes = 20

// crisisAnswer gives the numbers of crisis rule k and hands off urgently,
// or escalates the open case. answer is the safety check's answer that led
// here, if any. The same kind again in the same case gets a short answer,
// not the whole block, and no second alarm.
func (st *step) crisisAnswer(k int, text, answer string) {
	rule := st.f.Crisis.Rules[k]
	st.s.CheckOpen = false
	if answer != "" {
		st.s.Checked = answer
	}
	if answer == "" {
		st.remember(text)
	}
	st.crisisAnswered = true
	if st.s.Crisis != "" {
		// The numbers were given in this case already: a short answer with
		// the lines for these words, not the whole block again (a child
		// hiding in their room has just answered "are you safe").
		ids := st.crisisNumbers(rule)
		st.say(st.fill(st.f.Text("crisis_again", st.s.Locale)) + "\n" + strings.Join(st.numberLines(ids[:min(firstNumbers, len(ids))]), "\n"))
		if st.s.Crisis == rule.Kind || !st.s.HandedOff {
			if st.s.HandedOff && answer == "" {
				st.relay(text)
			}
			return
		}
		// A new kind of danger in the same case: staff are told.
		st.s.Crisis = rule.Kind
		st.escalate(rule, text, answer)
		return
	}
	st.s.Crisis = rule.Kind
	st.sayCrisis(rule)
	if st.s.HandedOff {
		st.escalate(rule, text, answer)
		return
	}
	st.s.Chosen = prepend(st.s.Chosen, rule.Category)
	st.crisisKind = rule.Kind
	st.fire(evCrisis)
}

// escalate makes the open case urgent for crisis rule k and relays the
// words that raised it.
func (st *step) escalate(rule CrisisRule, text, answer string) {
	h := st.handoffAction(rule.Category)
	h.Urgent, h.Crisis = true, rule.Kind
	h.Categories = prepend(h.Categories, rule.Category)
	st.actions = append(st.actions, h)
	st.s.Urgent = true
	if answer == "" {
		st.relay(text)
	}
}

// sayCrisis lays the crisis answer out for a phone: care and the numbers
// that fit first, then the others, then what happens now, then whether the
// resident is safe. Nothing else is added after it.
func (st *step) sayCrisis(rule CrisisRule) {
	ids := st.crisisNumbers(rule)
	first := min(firstNumbers, len(ids))
	msg, safe := rule.Message, rule.SafeNow
	if rule.Other.ByLocale != nil && st.cur != nil && st.f.triage.aboutOther.any(st.cur) {
		// About a friend or a relative: care for the one writing, and what
		// to do for the other, not "are you safe".
		msg, safe = rule.Other, rule.OtherSafeNow
	}
	st.bubble()
	st.say(msg.In(st.s.Locale, st.f.Locale()) + "\n" + strings.Join(st.numberLines(ids[:first]), "\n"))
	if rest := st.numberLines(ids[first:]); len(rest) > 0 {
		st.bubble()
		st.say(st.f.Text("numbers_heading", st.s.Locale) + "\n" + strings.Join(rest, "\n"))
	}
	st.bubble()
	st.say(st.urgentStatus())
	st.bubble()
	if safe := safe.In(st.s.Locale, st.f.Locale()); safe != "" {
		st.say(safe)
		return
	}
	st.say(st.f.Text("safe_now", st.s.Locale))
}

// urgentStatus says plainly what happens to an urgent case now: told at
// once when someone reads urgent cases, or read when the desk opens.
func (st *step) urgentStatus() string {
	if st.in.Now.IsZero() || st.f.Hours.NightDuty || st.f.Hours.Open(st.in.Now) {
		return st.fill(st.f.Text("urgent_told", st.s.Locale))
	}
	return st.fill(st.f.Text("urgent_closed", st.s.Locale))
}

func prepend(list []string, id string) []string {
	out := []string{id}
	for _, c := range list {
		if c != id {
			out = append(out, c)
		}
	}
	return out
}
