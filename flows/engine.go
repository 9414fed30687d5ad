package flows

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/looplab/fsm"
)

// Event names in the state machine. Buttons are "choose <i>", free text is
// "text", "found" or "not found", and the global ones work from every state.
const (
	evText     = "text"
	evFound    = "found"
	evNotFound = "not found"
	evCrisis   = "crisis"
	evHuman    = "talk to a person"
	evDelete   = "delete"
	evLanguage = "language"
	evStart    = "start over"
)

// How much of the resident's own words a session keeps for triage and the
// case summary: enough for a story told in pieces, little enough to stay small.
const (
	recentMessages = 5
	recentRunes    = 500
)

func chooseEvent(i int) string { return "choose " + strconv.Itoa(i+1) }

// buildEvents turns the flow into looplab/fsm transitions. Global events
// have every state as source, which is how "from any state" is written.
func (f *Flow) buildEvents() {
	all := make([]string, 0, len(f.States))
	for _, s := range f.States {
		all = append(all, s.ID)
	}
	var ev fsm.Events
	add := func(name string, src []string, dst string) {
		if dst != "" {
			ev = append(ev, fsm.EventDesc{Name: name, Src: src, Dst: dst})
		}
	}
	for _, s := range f.States {
		for i, q := range s.QuickReplies {
			add(chooseEvent(i), []string{s.ID}, q.Next)
		}
		if r := s.Text; r != nil {
			add(evText, []string{s.ID}, r.Next)
			add(evFound, []string{s.ID}, r.Found)
			add(evNotFound, []string{s.ID}, r.NotFound)
		}
	}
	add(evCrisis, all, f.Crisis.Next)
	add(evHuman, all, f.Intents.Human.Next)
	add(evDelete, all, f.Intents.Delete.Next)
	add(evLanguage, all, f.Intents.Language.Next)
	add(evStart, all, f.Start)
	f.events = ev
	f.machines = &sync.Pool{New: func() any { return fsm.NewFSM(f.Start, f.events, nil) }}
	f.labels = make([][][]string, len(f.States))
	for i, s := range f.States {
		for _, q := range s.QuickReplies {
			var ls []string
			for _, label := range q.Label.ByLocale {
				ls = append(ls, Normalize(label))
			}
			f.labels[i] = append(f.labels[i], ls)
		}
	}
}

// Locale returns the flow's default locale id.
func (f *Flow) Locale() string {
	if len(f.Locales) == 0 {
		return ""
	}
	return f.Locales[0].ID
}

// Text returns a fixed text in locale, falling back to the default locale.
// An optional text the flow does not give comes from the default flow.
func (f *Flow) Text(key, locale string) string {
	if t, ok := f.Texts[key]; ok {
		return t.In(locale, f.Locale())
	}
	if t, ok := defaultTexts()[key]; ok {
		if s := t.ByLocale[locale]; s != "" {
			return s
		}
		return t.In(f.Locale(), "ja")
	}
	return ""
}

// Category returns a category by id.
func (f *Flow) Category(id string) (Category, bool) {
	i, ok := f.catIx[id]
	if !ok {
		return Category{}, false
	}
	return f.Categories[i], true
}

// State returns a state by id.
func (f *Flow) State(id string) (State, bool) {
	i, ok := f.index[id]
	if !ok {
		return State{}, false
	}
	return f.States[i], true
}

// step is one Step in progress: the session being changed and what to do.
type step struct {
	f       *Flow
	s       Session
	in      Input
	machine *fsm.FSM
	actions []Action
	// bubbles are the answer's LINE messages, each a few paragraphs;
	// choices are the quick replies of the last.
	bubbles [][]string
	choices []Choice
	// crisisKind is set when this step handed off for a crisis.
	crisisKind string
	// privacy is set when the privacy notice is due in this step;
	// crisisAnswered when this step gave a crisis answer.
	privacy, crisisAnswered bool
	// warm is set when this step answers 大丈夫です after a crisis: nothing
	// is added to that answer.
	warm bool
	// answered is the FAQ or guide answer the previous message got.
	answered string
	// easy is set when this message switched to やさしい日本語 by itself.
	easy bool
	// triaged caches the triage of s.Recent; remember clears it.
	triaged *TriageResult
	// cur is the message of this step, read once.
	cur *message
	// lost is set when the session was in a state the flow no longer has.
	lost bool
}

// Step moves a session one input forward. It never fails: whatever the input,
// the resident gets an answer or their words reach a person.
func (f *Flow) Step(s Session, in Input) (Session, []Action) {
	st := &step{f: f, s: s, in: in, answered: s.Answered}
	st.s.Answered = "" // only a message right after counts as "again"
	if st.s.Locale == "" || !slices.ContainsFunc(f.Locales, func(l Locale) bool { return l.ID == st.s.Locale }) {
		st.s.Locale = f.Locale()
	}
	if _, ok := f.index[st.s.State]; !ok {
		if st.s.State == "" {
			st.s.State = f.Start // a new session
		} else {
			// A state the administrator removed since (a reloaded flow):
			// the resident was in the middle of something this flow cannot
			// follow, so a person takes it from here, in the human intent's
			// handoff state, instead of asking them to start over.
			st.lost = true
			st.s.State, st.s.Back = f.Intents.Human.Next, ""
		}
	}
	st.machine = f.machines.Get().(*fsm.FSM)
	defer f.machines.Put(st.machine)
	st.machine.SetState(st.s.State)
	if !st.s.Greeted {
		st.s.Greeted = true
		st.privacy = true
		if in.Kind == InputEvent && in.Event == EventFollow {
			st.sayState()
			return st.finish()
		}
	}
	if st.lost && !st.s.HandedOff && in.Kind == InputEvent && in.Event != EventCaseClosed {
		st.enter(st.s.State)
		return st.finish()
	}
	switch in.Kind {
	case InputChoice:
		st.choice(in.Text)
	case InputEvent:
		st.event(in.Event)
	default:
		st.text(in.Text)
	}
	return st.finish()
}

// fire runs a state-machine event; a self-transition is fine, and an event
// the machine does not know (a flow the linter would refuse) falls back to a
// person rather than a dead end.
func (st *step) fire(event string) {
	err := st.machine.Event(context.Background(), event)
	var noTransition fsm.NoTransitionError
	if err != nil && !errors.As(err, &noTransition) {
		st.machine.SetState(st.f.Intents.Human.Next)
	}
	st.enter(st.machine.Current())
}

// enter says the state's message and, for a handoff state, hands off.
func (st *step) enter(id string) {
	st.s.State = id
	st.s.Again = ""
	state := st.f.States[st.f.index[id]]
	if state.Handoff != nil {
		st.handoff(state.Handoff)
		return
	}
	if state.Known {
		// 母の介護で… has said who it is about: the question is not asked.
		if i, ok := st.phraseButton(st.f.index[id], st.recentMessages()); ok {
			st.press(i)
			return
		}
	}
	st.sayState()
}

func (st *step) sayState() {
	state := st.f.States[st.f.index[st.s.State]]
	msg := state.Message.In(st.s.Locale, st.f.Locale())
	msg = strings.ReplaceAll(msg, "{categories}", st.categoryNames())
	st.say(msg)
	st.choices = st.choicesOf(state)
}

// choicesOf are a state's buttons in the resident's language.
func (st *step) choicesOf(state State) []Choice {
	var cs []Choice
	for i, q := range state.QuickReplies {
		cs = append(cs, Choice{
			Label: q.Label.In(st.s.Locale, st.f.Locale()),
			Data:  state.ID + ":" + strconv.Itoa(i),
		})
	}
	return cs
}

// categories ranks the needs: buttons the resident pressed first, then what
// triage found in their words.
func (st *step) categories() []string {
	cats := slices.Clone(st.s.Chosen)
	for _, c := range st.triage().Categories {
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return cats
}

func (st *step) categoryNames() string {
	var names []string
	for _, id := range st.categories() {
		if c, ok := st.f.Category(id); ok {
			names = append(names, c.Name.In(st.s.Locale, st.f.Locale()))
		}
	}
	return strings.Join(names, st.f.Text("list_joiner", st.s.Locale))
}

func (st *step) text(raw string) {
	text := strings.TrimSpace(clip(raw, maxTextRunes))
	st.cur = st.f.triage.read(text)
	st.guessLocale(text)
	if st.f.triage.easy.any(st.cur) && slices.ContainsFunc(st.f.Locales, func(l Locale) bool { return l.ID == "easy-ja" }) {
		st.setLocale("easy-ja")
		st.s.Heard = registerMessages
		st.easy = true
	}
	if st.crisis(text) {
		return
	}
	if st.s.CheckOpen && st.answerCheck(st.f.triage.checkAnswer(st.cur), text) {
		return
	}
	if st.lost && !st.s.HandedOff {
		st.remember(text)
		st.enter(st.s.State)
		return
	}
	if i, words, ok := st.labelMatch(text); ok {
		if words {
			st.remember(text) // typed words are content too (母の介護もあって)
			if st.cur.question() {
				st.say(st.f.Text("question_kept", st.s.Locale))
			}
		}
		st.press(i)
		return
	}
	if st.s.HandedOff {
		state := st.f.States[st.f.index[st.s.State]]
		if state.isHandoff() {
			st.relayText(text)
			return
		}
		// A detour (the delete or language choice) while staff have the
		// case: the words still reach them, and the choice is explained
		// and offered once more before the resident goes back.
		st.remember(text)
		st.relay(text)
		if !st.askAgain(state) {
			st.goBack()
		}
		return
	}
	if st.f.triage.human.any(st.cur) {
		st.remember(text)
		st.fire(evHuman)
		return
	}
	if st.detour() {
		return
	}
	if st.answerQuestion(text) {
		return
	}
	if st.s.PrevCase != "" && len(st.cur.a.sentences) > 0 {
		// The resident comes back after staff closed their case: straight to a
		// person, on a new case linked to the old one.
		st.remember(text)
		st.fire(evHuman)
		return
	}
	state := st.f.States[st.f.index[st.s.State]]
	if st.f.triage.thanksOnly(st.cur) && !(state.Text != nil && state.Text.Back) {
		// Thanks is not a need and not an answer: thanked back, with the
		// question's buttons still there, and not asked again.
		choices := st.choicesOf(state)
		st.say(st.f.Text("thanks", st.s.Locale))
		st.choices = choices
		return
	}
	if state.Text != nil && state.Text.Next == "" && !state.Text.Back && st.f.triage.greetingOnly(st.cur) {
		st.sayState()
		return
	}
	st.remember(text)
	if st.cur.question() {
		// Not answered here, but not ignored: a person will answer it. At
		// an intake question the case goes to a person now: held for the
		// questions, it would be lost if the resident said thanks and left.
		st.say(st.f.Text("question_kept", st.s.Locale))
		if st.atIntakeQuestion(state) {
			st.fire(evHuman)
			return
		}
	}
	if st.askAgain(state) {
		return
	}
	st.route()
}

// atIntakeQuestion reports whether state is one of the questions asked
// on the way to a person (who, how urgent): past the opening, with buttons,
// and not a detour.
func (st *step) atIntakeQuestion(state State) bool {
	return st.s.State != st.f.Start && len(state.QuickReplies) > 0 && state.Text != nil && !state.Text.Back && state.Text.Next != ""
}

// askAgain asks a button question once more when free text came instead of
// a press: the words are kept for staff (and triaged), and the second time
// the flow goes on, so that nobody is held at a question.
func (st *step) askAgain(state State) bool {
	r := state.Text
	if r == nil || len(state.QuickReplies) == 0 || r.Again.ByLocale == nil && !r.Back {
		return false // only where the flow says so: elsewhere free text goes on
	}
	if st.s.Again == state.ID {
		st.s.Again = ""
		if r.Back {
			st.goBack()
			return true
		}
		return false
	}
	st.s.Again = state.ID
	st.say(st.fill(r.Again.In(st.s.Locale, st.f.Locale())))
	st.sayState()
	return true
}

// route sends the resident's remembered words on from the current state:
// where free text goes, or where triage says.
func (st *step) route() {
	r := st.f.States[st.f.index[st.s.State]].Text
	switch {
	case r == nil:
		st.fire(evHuman) // the linter refuses this; never a dead end regardless
	case r.Next != "":
		st.fire(evText)
	case len(st.triage().Categories) > 0:
		st.fire(evFound)
	default:
		st.fire(evNotFound)
	}
}

// detour opens the delete or language choice when asked for, remembering
// where to come back to; these work in every state, with staff or not.
func (st *step) detour() bool {
	var event string
	switch {
	case st.f.triage.del.any(st.cur):
		event = evDelete
	case st.f.triage.language.any(st.cur) && !st.easy && (st.f.triage.language.only(st.cur) || utf8.RuneCountInString(st.cur.text) <= languageAskRunes):
		// "English please" opens the menu; "my Japanese is bad, my husband
		// left…" is a story, not a request for the menu.
		event = evLanguage
	case st.easy && st.f.triage.language.only(st.cur):
		// "English" alone, and the language is already switched by it: the
		// question again in that language, no menu, and not taken as an answer.
		if st.s.HandedOff {
			st.say(st.f.Text("handoff_done", st.s.Locale))
		} else {
			st.sayState()
		}
		return true
	default:
		return false
	}
	st.s.Back = st.s.State
	st.fire(event)
	return true
}

// triage reads the resident's recent words, once per change of them.
func (st *step) triage() TriageResult {
	if st.triaged == nil {
		r := st.f.triageMessages(st.recentMessages())
		st.triaged = &r
	}
	return *st.triaged
}

// recentMessages are the resident's recent words, read for triage; the
// current message is read once and shared.
func (st *step) recentMessages() []*message {
	msgs := make([]*message, len(st.s.Recent))
	for i, text := range st.s.Recent {
		if st.cur != nil && i == len(st.s.Recent)-1 && text == clip(st.cur.text, recentRunes) && st.cur.text == text {
			msgs[i] = st.cur
			continue
		}
		msgs[i] = st.f.triage.read(text)
	}
	return msgs
}

// remember keeps the resident's words for triage and for the case summary.
func (st *step) remember(text string) {
	if text == "" {
		return
	}
	st.triaged = nil
	st.s.Recent = append(st.s.Recent, clip(text, recentRunes))
	if n := len(st.s.Recent); n > recentMessages {
		st.s.Recent = slices.Clone(st.s.Recent[n-recentMessages:])
	}
}

// labelMatch finds a button of the current state whose label, in any
// locale, is what the resident typed, or whose phrases the words hold
// (母のことです presses 家族のこと): typing it is pressing it. words is
// set when it was the phrases: the words say more than the button.
func (st *step) labelMatch(text string) (i int, words, ok bool) {
	n := Normalize(text)
	if n == "" {
		return 0, false, false
	}
	si := st.f.index[st.s.State]
	for i, labels := range st.f.labels[si] {
		if slices.Contains(labels, n) {
			return i, false, true
		}
	}
	if st.cur == nil {
		return 0, false, false
	}
	if i, ok := st.phraseButton(si, []*message{st.cur}); ok {
		return i, true, true
	}
	return 0, false, false
}

// phraseButton is the button of state si whose phrases the messages say.
// When several do, the last listed wins: 私の母の介護 names 私 and 母, and
// the button for family comes after the one for oneself.
func (st *step) phraseButton(si int, msgs []*message) (int, bool) {
	buttons := st.f.triage.buttons[si]
	for i := len(buttons) - 1; i >= 0; i-- {
		for _, m := range msgs {
			if m != nil && buttons[i].any(m) {
				return i, true
			}
		}
	}
	return 0, false
}

func (st *step) choice(data string) {
	if answer, ok := strings.CutPrefix(data, checkPrefix); ok {
		st.checkChoice(answer)
		return
	}
	if st.lost && !st.s.HandedOff {
		st.enter(st.s.State) // a button of a question the flow no longer asks
		return
	}
	id, idx, ok := strings.Cut(data, ":")
	i, err := strconv.Atoi(idx)
	state := st.f.States[st.f.index[st.s.State]]
	if !ok || err != nil || id != st.s.State || i < 0 || i >= len(state.QuickReplies) {
		// A button from an older message: say where we are now, with fresh buttons.
		if st.s.HandedOff {
			st.say(st.f.Text("handoff_done", st.s.Locale))
			return
		}
		st.sayState()
		return
	}
	st.press(i)
}

func (st *step) press(i int) {
	state := st.f.States[st.f.index[st.s.State]]
	q := state.QuickReplies[i]
	st.s.Choices = append(st.s.Choices, q.Label.In(st.f.Locale(), st.f.Locale()))
	if q.Category != "" && !slices.Contains(st.s.Chosen, q.Category) {
		st.s.Chosen = append(st.s.Chosen, q.Category)
	}
	if q.Locale != "" {
		st.s.Heard = registerMessages // the resident chose: no more guessing
	}
	if q.Locale != "" && q.Locale != st.s.Locale {
		st.s.Locale = q.Locale
		st.actions = append(st.actions, SetLocale{Locale: q.Locale})
	}
	switch {
	case q.Erase:
		locale := st.s.Locale
		st.s = Session{State: st.f.Start}
		st.triaged = nil
		st.actions = append(st.actions, Erase{})
		done := "delete_done"
		if st.in.StaffRecordKept {
			done = "delete_done_kept"
		}
		st.say(st.f.Text(done, locale))
		// The talk stays on the phone: someone whose partner reads it
		// needs to know how to remove it there too.
		st.bubble()
		st.say(st.f.Text("delete_history", locale))
	case q.Back:
		st.goBack()
	default:
		st.fire(chooseEvent(i))
	}
}

// goBack returns to the state the resident was in before a delete or
// language detour.
func (st *step) goBack() {
	if st.inDelete() {
		// Someone who backs out of deleting must know nothing was erased.
		st.say(st.f.Text("delete_kept", st.s.Locale))
	}
	back := st.s.Back
	st.s.Back = ""
	if _, ok := st.f.index[back]; !ok || back == st.s.State {
		back = st.f.Start
	}
	st.machine.SetState(back)
	if st.s.HandedOff {
		st.s.State = back
		st.say(st.f.Text("handoff_done", st.s.Locale))
		return
	}
	st.enter(back)
}

// inDelete reports whether the resident is at the delete confirmation (a
// state with a button that erases).
func (st *step) inDelete() bool {
	i, ok := st.f.index[st.s.State]
	return ok && slices.ContainsFunc(st.f.States[i].QuickReplies, func(q QuickReply) bool { return q.Erase })
}

func (st *step) event(e Event) {
	switch e {
	case EventFollow:
		st.sayState()
	case EventCaseClosed:
		if st.s.Case != "" {
			st.s.PrevCase = st.s.Case
		}
		st.s.Case, st.s.HandedOff, st.s.Urgent = "", false, false
		st.s.Recent, st.s.Chosen, st.s.Choices = nil, nil, nil
		st.s.Crisis, st.s.CheckKind, st.s.CheckOpen, st.s.Checked = "", "", false, ""
		st.triaged = nil
		st.s.State = st.f.Start
		st.machine.SetState(st.f.Start)
		st.say(st.f.Text("case_closed", st.s.Locale))
	default:
		if st.s.HandedOff {
			st.relay("[" + string(e) + "]")
			return
		}
		st.say(st.f.Text("non_text", st.s.Locale))
		if !st.f.States[st.f.index[st.s.State]].isHandoff() {
			st.sayState()
		}
	}
}

func (s State) isHandoff() bool { return s.Handoff != nil }

func (st *step) relay(text string) {
	if text == "" {
		return
	}
	st.actions = append(st.actions, Relay{Case: st.s.Case, Text: text})
}

// handoff hands the case to people: once per case; a second request while
// the case is open only reassures the resident.
func (st *step) handoff(spec *HandoffSpec) {
	if st.s.HandedOff {
		st.say(st.f.Text("handoff_done", st.s.Locale))
		return
	}
	h := st.handoffAction(spec.Category)
	h.Urgent = spec.Urgent || h.Urgent
	h.Crisis = st.crisisKind
	st.s.HandedOff = true
	st.s.Urgent = h.Urgent
	st.s.PrevCase = ""
	st.s.AckAt = 0
	st.s.Suggested = slices.Clone(h.Categories)
	st.actions = append(st.actions, h)
	if st.crisisKind != "" {
		return // the crisis answer already said what happens now
	}
	st.sayState()
	if h.Urgent && !st.in.Now.IsZero() && !st.f.Hours.Open(st.in.Now) && !st.f.Hours.NightDuty {
		// An urgent case at night: say plainly when a person will read it.
		choices := st.choices
		st.say(st.fill(st.f.Text("urgent_closed", st.s.Locale)))
		st.choices = choices
		return
	}
	st.outOfHours()
}

func (st *step) handoffAction(fallback string) Handoff {
	cats := st.categories()
	if len(cats) == 0 {
		cats = []string{fallback}
	}
	tr := st.triage()
	h := Handoff{
		Categories: cats,
		Patterns:   tr.Patterns,
		Compound:   len(tr.Patterns) > 0 || len(cats) >= 2,
		Locale:     st.s.Locale,
		Said:       slices.Clone(st.s.Recent),
		Chose:      slices.Clone(st.s.Choices),
		Reopen:     st.s.PrevCase,
		Checked:    st.s.Checked,
		CheckKind:  st.s.CheckKind,
	}
	for _, id := range cats {
		if c, ok := st.f.Category(id); ok && c.Urgent {
			h.Urgent = true
		}
	}
	return h
}

// languageAskRunes is the longest message taken as a request for the
// language menu when it says more than the request.
const languageAskRunes = 24

// registerMessages is how many of a resident's first messages may set the
// register: a child often greets first and says who they are after.
const registerMessages = 3

// guessLocale answers the resident in the register they write in, from
// their first few messages: only Latin letters get English (a resident who
// writes "hello" should not have to find the language button in a Japanese
// notice; one English word in a Japanese sentence does not count). Kana
// without kanji gets やさしい日本語 when it reads like a child or a
// learner: words spaced apart, a child's words, or a long run of hiragana;
// kana mostly, with a child's words, too. Short kana an adult types
// (これってボットですか, ありがとうございます) keeps Japanese.
func (st *step) guessLocale(text string) {
	if !st.s.Young && youngVoice(text) {
		st.s.Young = true
	}
	if st.s.Heard >= registerMessages || st.s.Locale != st.f.Locale() {
		return
	}
	if st.f.triage.thanksOnly(st.cur) || st.f.triage.greetingOnly(st.cur) && !latinOnly(text) {
		// こんにちは or OK says nothing about the register; "Hello" as a
		// first message does: the welcome should not come in a script the
		// resident may not read.
		return
	}
	st.s.Heard++
	latin, hira, kata, kanji, spaced := 0, 0, 0, 0, false
	prevKana := false
	for _, r := range text {
		switch {
		case r < utf8.RuneSelf && unicode.IsLetter(r):
			latin++
		case unicode.Is(unicode.Han, r):
			kanji++
		case unicode.Is(unicode.Hiragana, r):
			hira++
		case unicode.Is(unicode.Katakana, r):
			kata++
		case (r == ' ' || r == '\u3000') && prevKana:
			spaced = true
		}
		prevKana = unicode.In(r, unicode.Hiragana, unicode.Katakana)
	}
	kana := hira + kata
	defer func() { st.s.Japanese = st.s.Japanese || kana+kanji > 0 }()
	switch {
	case latin > 0 && kana+kanji == 0 && !st.s.Japanese:
		// Not after the resident has written Japanese: OK or a name in
		// Latin letters is not a change of language.
		st.setLocale("en")
	case kanji == 0 && kana >= 6 && kana > 3*latin && (spaced || childVoice(text)):
		st.setLocale("easy-ja")
	case kanji > 0 && kana >= 6*kanji && kana > 3*latin && childVoice(text):
		// A child who knows 学校 still writes mostly in kana.
		st.setLocale("easy-ja")
	case kanji == 0 && latin == 0 && kana >= 6:
		// One message without kanji may be an adult in a hurry; two are
		// someone who reads kana (なまえいわないとだめ？ にんしんしたかも).
		if st.s.KanaOnly++; st.s.KanaOnly >= 2 {
			st.setLocale("easy-ja")
		}
	}
}

// latinOnly reports whether text has letters and all of them are Latin.
func latinOnly(text string) bool {
	letters := false
	for _, r := range text {
		if unicode.IsLetter(r) {
			if r >= utf8.RuneSelf {
				return false
			}
			letters = true
		}
	}
	return letters
}

func (st *step) setLocale(id string) {
	st.easy = st.easy || id != st.s.Locale // the register is settled for this message: no menu
	if slices.ContainsFunc(st.f.Locales, func(l Locale) bool { return l.ID == id }) && id != st.s.Locale {
		st.s.Locale = id
		st.actions = append(st.actions, SetLocale{Locale: id})
	}
}

// childWords are words that, in a message written mostly in kana, say a
// child is writing.
var childWords = []string{"ぼく", "ママ", "パパ", "おかあさん", "おとうさん", "おかーさん", "おにいちゃん", "おねえちゃん",
	"せんせい", "先生", "がっこう", "学校", "クラス", "ともだち", "しゅくだい", "宿題", "ほいくえん", "ようちえん",
	"小学", "中学", "しょうがく", "ちゅうがく", "ねんせい"}

// gradeWords say the writer is a pupil, unless a parent is writing about
// their child (小学3年の息子).
var gradeWords = []string{"小学", "中学", "しょうがく", "ちゅうがく", "ねんせい", "年生", "高校生", "こうこうせい", "JC", "JK", "中1", "中2", "中3", "小4", "小5", "小6",
	"12歳", "13歳", "14歳", "15歳", "16歳", "17歳", "未成年"}

// parentWords are how a parent names their child.
var parentWords = []string{"息子", "娘", "子ども", "子供", "うちの子", "長男", "長女", "次男", "次女", "孫", "児童"}

func childVoice(text string) bool { return containsAny(text, childWords) }

// youngVoice reports whether a message reads as written by a child or a
// pupil: crisis answers then give the lines for the young first.
func youngVoice(text string) bool {
	if containsAny(text, parentWords) {
		return false
	}
	if containsAny(text, gradeWords) {
		return true
	}
	kana, kanji := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			kanji++
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			kana++
		}
	}
	return kana >= 6 && kana >= 6*kanji && childVoice(text)
}

func containsAny(text string, words []string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(text, w) })
}
