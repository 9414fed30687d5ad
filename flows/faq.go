package flows

import "slices"

// Questions residents ask before anything else — is this anonymous, when
// are you open, what does it cost, where do I go — are answered, not
// taken as a need: a question is not a case.

// answerQuestion answers a question from the flow's FAQ, or where-and-how
// questions from a category's guide. It reports whether the message was
// nothing but the question; otherwise the caller goes on with the words.
func (st *step) answerQuestion(text string) bool {
	t := st.f.triage
	answered := false
	for i, q := range st.f.FAQ {
		if t.faq[i].any(st.cur) {
			st.say(st.fill(q.Answer.In(st.s.Locale, st.f.Locale())))
			answered = true
			break
		}
	}
	if !answered && t.guide.any(st.cur) {
		st.say(st.fill(st.guideText()))
		answered = true
	}
	if !answered {
		return false
	}
	if st.s.HandedOff {
		return true // the caller relays the words
	}
	if slices.ContainsFunc(st.f.Triage(text).Categories, func(c string) bool { return c != "general" }) {
		return false // a need came with the question: go on with it
	}
	st.sayState()
	return true
}

// guideText is the "where and how" text of the need the resident has
// named, in their language, or the general answer when none is known.
func (st *step) guideText() string {
	cats := slices.Clone(st.s.Chosen)
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
