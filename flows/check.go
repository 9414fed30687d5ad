package flows

import "strings"

// The safety check. When the words are not clear enough for the crisis
// answer, the flow asks directly and kindly, as gatekeeper training
// teaches; asking does not put the idea in anyone's head, and a direct
// question is what lets a person in crisis say so. "Yes" and "not sure"
// lead to the crisis answer and a person; "no" goes on with the
// conversation, and staff see that the question was asked.

// checkPrefix starts the postback data of the safety check's buttons.
const checkPrefix = "check:"

// The answers, as buttons send them and as the session keeps them;
// answerNone is kept when the resident wrote on without answering.
const (
	answerYes    = "yes"
	answerUnsure = "unsure"
	answerNo     = "no"
	answerNone   = "unanswered"
)

// askCheck asks the safety check for crisis rule k after the resident wrote
// text, which is kept for staff and for the conversation after a "no".
func (st *step) askCheck(k int, text string) {
	rule := st.f.Crisis.Rules[k]
	st.remember(text)
	st.s.CheckKind, st.s.CheckOpen = rule.Kind, true
	st.actions = append(st.actions, Check{Kind: rule.Kind})
	if st.s.HandedOff {
		st.relay(text)
	}
	st.sayCheck(rule)
}

func (st *step) sayCheck(rule CrisisRule) {
	c := st.f.Crisis.Check
	q := rule.Check.In(st.s.Locale, st.f.Locale())
	if strings.TrimSpace(q) == "" {
		q = c.Message.In(st.s.Locale, st.f.Locale())
	}
	st.say(q)
	for _, b := range []struct {
		label  Text
		answer string
	}{{c.Yes, answerYes}, {c.Unsure, answerUnsure}, {c.No, answerNo}} {
		st.choices = append(st.choices, Choice{Label: b.label.In(st.s.Locale, st.f.Locale()), Data: checkPrefix + b.answer})
	}
}

// ruleOfKind is the index of the crisis rule of kind, or 0 (the first rule,
// the one a flow lists as the gravest) when the flow no longer has it.
func (f *Flow) ruleOfKind(kind string) int {
	for k, r := range f.Crisis.Rules {
		if r.Kind == kind {
			return k
		}
	}
	return 0
}

// answerCheck handles what the resident sent while the check is pending:
// answer is "yes", "unsure", "no" or "" for words that are not an answer.
// It reports whether the input was used up.
func (st *step) answerCheck(answer, text string) bool {
	k := st.f.ruleOfKind(st.s.CheckKind)
	switch answer {
	case answerYes, answerUnsure:
		if text != "" {
			st.remember(text)
			if st.s.HandedOff {
				st.relay(text)
			}
		}
		st.crisisAnswer(k, text, answer)
		return true
	case answerNo:
		st.s.CheckOpen, st.s.Checked = false, answerNo
		st.say(st.f.Crisis.Check.Thanks.In(st.s.Locale, st.f.Locale()))
		if st.s.HandedOff {
			if text != "" {
				st.relay(text)
			}
			return true
		}
		// Go on where the words that raised the check would have gone.
		choices := st.choices
		st.route()
		if len(st.choices) == 0 {
			st.choices = choices
		}
		return true
	}
	if text == "" {
		return false
	}
	// Words, not an answer: asking again word for word would hold the
	// resident at a question they chose to pass over, and a false alarm
	// (殺虫剤) would become a loop. A line keeps a 24-hour door open and the
	// words go on like any others; staff see the check unanswered, its
	// buttons still work, and one more sign is a crisis.
	st.s.CheckOpen, st.s.Checked = false, answerNone
	st.say(st.f.Text("check_unanswered", st.s.Locale))
	return false // the words go on like any others (人と話したい included)
}

// checkChoice handles a press on a safety-check button, even an old one:
// a "yes" is never ignored, whenever it comes.
func (st *step) checkChoice(answer string) {
	switch answer {
	case answerYes, answerUnsure:
		if st.s.CheckKind == "" {
			// A button from before an erase or a new flow: the gravest kind.
			st.s.CheckKind = st.f.Crisis.Rules[0].Kind
		}
		st.answerCheck(answer, "")
	case answerNo:
		if st.s.CheckOpen {
			st.answerCheck(answer, "")
			return
		}
		if st.s.HandedOff {
			st.say(st.f.Text("handoff_done", st.s.Locale))
			return
		}
		st.sayState()
	default:
		st.sayState()
	}
}
