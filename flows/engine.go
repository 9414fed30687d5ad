package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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
}

// Locale returns the flow's default locale id.
func (f *Flow) Locale() string {
	if len(f.Locales) == 0 {
		return ""
	}
	return f.Locales[0].ID
}

// Text returns a fixed text in locale, falling back to the default locale.
func (f *Flow) Text(key, locale string) string { return f.Texts[key].In(locale, f.Locale()) }

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
	texts   []string // reply texts gathered, sent as one batch
	choices []Choice // quick replies of the last text
	// crisisKind is set when this step handed off for a crisis.
	crisisKind string
	// privacy is set when the privacy notice is due in this step.
	privacy bool
	// triaged caches the triage of s.Recent; remember clears it.
	triaged *TriageResult
	// cur is the message of this step, read once.
	cur *message
}

// Step moves a session one input forward. It never fails: whatever the input,
// the resident gets an answer or their words reach a person.
func (f *Flow) Step(s Session, in Input) (Session, []Action) {
	st := &step{f: f, s: s, in: in}
	if st.s.Locale == "" || !slices.ContainsFunc(f.Locales, func(l Locale) bool { return l.ID == st.s.Locale }) {
		st.s.Locale = f.Locale()
	}
	if _, ok := f.index[st.s.State]; !ok {
		// New session, or a state the administrator removed since: start over.
		st.s.State = f.Start
	}
	st.machine = fsm.NewFSM(st.s.State, f.events, nil)
	if !st.s.Greeted {
		st.s.Greeted = true
		st.guessLocale(in)
		st.privacy = true
		if in.Kind == InputEvent && in.Event == EventFollow {
			st.sayState()
			return st.finish()
		}
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

func (st *step) finish() (Session, []Action) {
	if st.privacy {
		// The privacy notice opens a first conversation, but never stands
		// between a resident in crisis and the emergency numbers.
		notice := strings.TrimSpace(st.f.Text("privacy", st.s.Locale))
		if st.crisisKind != "" {
			st.texts = append(st.texts, notice)
		} else {
			st.texts = append([]string{notice}, st.texts...)
		}
	}
	if len(st.texts) > 0 {
		// Texts go first, in one Reply: LINE sends them as one batch.
		reply := Reply{Text: strings.Join(st.texts, "\n\n"), QuickReplies: st.choices}
		st.actions = append([]Action{reply}, st.actions...)
	}
	return st.s, st.actions
}

func (st *step) say(text string) {
	if text = strings.TrimSpace(text); text != "" {
		st.texts = append(st.texts, text)
	}
	st.choices = nil
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
	state := st.f.States[st.f.index[id]]
	if state.Handoff != nil {
		st.handoff(state.Handoff)
		return
	}
	st.sayState()
}

func (st *step) sayState() {
	state := st.f.States[st.f.index[st.s.State]]
	msg := state.Message.In(st.s.Locale, st.f.Locale())
	msg = strings.ReplaceAll(msg, "{categories}", st.categoryNames())
	st.say(msg)
	for i, q := range state.QuickReplies {
		st.choices = append(st.choices, Choice{
			Label: q.Label.In(st.s.Locale, st.f.Locale()),
			Data:  state.ID + ":" + strconv.Itoa(i),
		})
	}
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
	if st.crisis(text) {
		return
	}
	if st.s.CheckOpen && st.answerCheck(st.f.triage.checkAnswer(st.cur), text) {
		return
	}
	if i, ok := st.labelMatch(text); ok {
		st.press(i)
		return
	}
	state := st.f.States[st.f.index[st.s.State]]
	if st.s.HandedOff {
		// Staff have the case: the resident's words go to them, except the
		// two things a resident can always do alone.
		if st.detour() {
			return
		}
		if Normalize(text) == "" && !strings.ContainsFunc(text, unicode.IsGraphic) {
			// Nothing to pass on: reassure rather than stay silent.
			st.say(st.f.Text("handoff_done", st.s.Locale))
			return
		}
		if st.f.triage.human.any(st.cur) {
			st.say(st.f.Text("handoff_done", st.s.Locale))
		}
		st.remember(text)
		st.relay(text)
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
	if st.s.PrevCase != "" && len(st.cur.a.sentences) > 0 {
		// The resident comes back after staff closed their case: straight to a
		// person, on a new case linked to the old one.
		st.remember(text)
		st.fire(evHuman)
		return
	}
	if state.Text != nil && state.Text.Next == "" && st.f.triage.greetingOnly(st.cur) {
		st.sayState()
		return
	}
	st.remember(text)
	st.route()
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
	case st.f.triage.language.any(st.cur):
		event = evLanguage
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

// crisis checks the crisis rules on this message (with the one before it,
// for a phrase split in two) and, on a clear match, gives the numbers and
// hands off urgently, in this very step. Signs that are not clear add up
// over the recent messages: enough of them are a crisis too; fewer ask the
// safety check.
func (st *step) crisis(text string) bool {
	t := st.f.triage
	cur := t.crisisOf(st.cur)
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
	if len(cur.signs) == 0 || st.s.Crisis != "" {
		return false
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
// here, if any.
func (st *step) crisisAnswer(k int, text, answer string) {
	rule := st.f.Crisis.Rules[k]
	st.s.CheckOpen, st.s.CheckTries = false, 0
	st.s.Crisis = rule.Kind
	if answer != "" {
		st.s.Checked = answer
	}
	st.say(rule.Message.In(st.s.Locale, st.f.Locale()) + "\n\n" + st.numbers(rule))
	if st.s.HandedOff {
		h := st.handoffAction(rule.Category)
		h.Urgent, h.Crisis = true, rule.Kind
		h.Categories = prepend(h.Categories, rule.Category)
		st.actions = append(st.actions, h)
		st.s.Urgent = true
		if answer == "" {
			st.remember(text)
			st.relay(text)
		}
		return
	}
	if answer == "" {
		st.remember(text)
	}
	st.s.Chosen = prepend(st.s.Chosen, rule.Category)
	st.crisisKind = rule.Kind
	st.fire(evCrisis)
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

func (st *step) numbers(rule CrisisRule) string {
	lines := []string{st.f.Text("numbers_heading", st.s.Locale)}
	open, close := "（", "）"
	if st.s.Locale == "en" {
		open, close = " (", ")"
	}
	for _, id := range rule.Numbers {
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
	return strings.Join(lines, "\n")
}

// labelMatch finds a button of the current state whose label, in any locale,
// is exactly what the resident typed: typing a label is pressing it.
func (st *step) labelMatch(text string) (int, bool) {
	n := Normalize(text)
	if n == "" {
		return 0, false
	}
	state := st.f.States[st.f.index[st.s.State]]
	for i, q := range state.QuickReplies {
		for _, label := range q.Label.ByLocale {
			if Normalize(label) == n {
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
		st.say(st.f.Text("delete_done", locale))
	case q.Back:
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
	default:
		st.fire(chooseEvent(i))
	}
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
		st.s.Crisis, st.s.CheckKind, st.s.CheckOpen, st.s.CheckTries, st.s.Checked = "", "", false, 0, ""
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
	st.actions = append(st.actions, h)
	st.sayState()
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
	next := st.f.Hours.NextOpen(st.in.Now)
	when := ""
	if !next.IsZero() {
		when = st.f.formatTime(next, st.s.Locale)
	}
	choices := st.choices
	st.say(strings.ReplaceAll(st.f.Text("out_of_hours", st.s.Locale), "{next_open}", when))
	st.choices = choices
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

// guessLocale answers a first message written only in Latin letters in
// English, when the flow speaks it: a resident who writes "hello" should not
// have to find the language button in a Japanese privacy notice.
func (st *step) guessLocale(in Input) {
	if in.Kind != InputText || st.s.Locale != st.f.Locale() || !slices.ContainsFunc(st.f.Locales, func(l Locale) bool { return l.ID == "en" }) {
		return
	}
	latin := false
	for _, r := range in.Text {
		switch {
		case r < utf8.RuneSelf && unicode.IsLetter(r):
			latin = true
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			return
		}
	}
	if latin {
		st.s.Locale = "en"
		st.actions = append(st.actions, SetLocale{Locale: "en"})
	}
}
