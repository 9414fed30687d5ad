package flows

import "slices"

// Questions residents ask before anything else — is this anonymous, when
// are you open, what does it cost, where do I go — are answered, not
// taken as a need: a question is not a case.

// maxFAQAnswers is how many FAQ answers one message gets at most.
const maxFAQAnswers = 2

// answerQuestion answers a question from the flow's FAQ, or where-and-how
// questions from a category's guide. It reports whether the message was
// nothing but the question; otherwise the caller goes on with the words.
func (st *step) answerQuestion(text string) bool {
	t := st.f.triage
	answer, key := "", ""
	n := 0
	for i, q := range st.f.FAQ {
		if t.faq[i].any(st.cur) {
			// 通報されますか？名前言わなくても相談できますか asks two things.
			if n++; n > maxFAQAnswers {
				break
			}
			if answer != "" {
				answer += "\n\n"
			}
			answer += q.Answer.In(st.s.Locale, st.f.Locale())
			key += "faq:" + q.ID + " "
		}
	}
	if key == "" && t.guide.any(st.cur) {
		answer, key = st.guideText(), "guide"
		if now := st.in.Now; !now.IsZero() && !st.f.Hours.Open(now) {
			// 役所休みですよね？: the guide says where, this says when.
			answer += "\n" + st.f.Text("status_closed", st.s.Locale)
		}
	}
	if key == "" {
		return false
	}
	if st.answered == key {
		// The same answer twice in a row: said once more, so nobody has to
		// scroll, but marked as the same so it does not read as unheard.
		st.say(st.f.Text("answered_again", st.s.Locale) + "\n" + answer)
	} else {
		st.say(answer)
	}
	st.s.Answered = key
	if st.s.HandedOff {
		return true // the caller relays the words
	}
	if slices.ContainsFunc(st.f.Triage(text).Categories, func(c string) bool { return c != "general" }) {
		return false // a need came with the question: go on with it
	}
	state := st.f.States[st.f.index[st.s.State]]
	if r := state.Text; r != nil && len(state.QuickReplies) > 0 && (r.Again.ByLocale != nil || r.Next != "") {
		// An intake question is asked once more at most, questions or not:
		// the second time the flow goes on, so nobody is held there.
		if st.s.Again == state.ID {
			st.s.Again = ""
			st.remember(text)
			st.route()
			return true
		}
		st.s.Again = state.ID
	}
	st.sayState()
	return true
}

// guideText is the "where and how" text of the need the resident has
// named, in their language, or the general answer when none is known.
func (st *step) guideText() string {
	// The need named in the question comes first (酒やめる病院ってどこ),
	// then the buttons pressed, then the words before.
	cats := slices.Clone(st.f.triageMessages([]*message{st.cur}).Categories)
	cats = append(cats, st.s.Chosen...)
	cats = append(cats, st.f.triageMessages(append(st.recentMessages(), st.cur)).Categories...)
	for _, id := range cats {
		if c, ok := st.f.Category(id); ok {
			if g := c.Guide.In(st.s.Locale, st.f.Locale()); g != "" {
				return g
			}
		}
	}
	return st.f.Text("guide_none", st.s.Locale)
}
