package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ikawaha/kagome/v2/tokenizer"
)

// LINE's limits on quick replies, which a flow must respect to be shown at
// all. LINE counts a label's length in UTF-16 units (an emoji is two), and
// so does the linter (see lineLen), while still saying "characters".
const (
	maxQuickReplies = 13
	maxLabelRunes   = 20
)

// lineLen is the length of s as LINE counts it: in UTF-16 code units.
func lineLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// linter gathers the problems of one flow. Each check is a method, so the
// list of promises the linter proves reads as the list of its calls in compile.
type linter struct {
	f        *Flow
	problems Problems
}

func (l *linter) add(pos Pos, format string, args ...any) { l.problems.add(pos, format, args...) }

// compile checks the whole flow and builds what the engine needs. Problems
// are returned rather than stopping at the first, so one lint run shows all.
func (f *Flow) compile() Problems {
	l := &linter{f: f}
	l.index()
	l.locales()
	l.fixedTexts()
	l.categories()
	l.patterns()
	l.crisis()
	l.intents()
	l.states()
	for _, msg := range f.Hours.compile() {
		l.add(f.Hours.Pos.or(f.Pos), "%s", msg)
	}
	l.concepts()
	l.safetyCheck()
	l.conversationCare()
	if len(l.problems) == 0 {
		l.crisisBubbles()
	}
	l.problems = append(l.problems, f.compileTriage()...)
	if len(l.problems) == 0 {
		l.reachability()
	}
	if len(l.problems) == 0 {
		l.noLoops()
	}
	f.buildEvents()
	return l.problems
}

func (p Pos) or(fallback Pos) Pos {
	if p.File == "" {
		return fallback
	}
	return p
}

func (l *linter) index() {
	f := l.f
	f.index = l.ids("state", "states", len(f.States), func(i int) (string, Pos) { return f.States[i].ID, f.States[i].Pos })
	f.catIx = l.ids("category", "categories", len(f.Categories), func(i int) (string, Pos) { return f.Categories[i].ID, f.Categories[i].Pos })
	if len(f.States) == 0 {
		l.add(f.Pos, "the flow has no states: add a \"states:\" list")
	}
	switch {
	case f.Start == "":
		l.add(f.Pos, "the flow has no \"start:\" state: name the state new residents begin in")
	case !l.hasState(f.Start):
		l.add(f.Pos, "start: there is no state called %q%s", f.Start, l.suggestState(f.Start))
	}
}

// ids maps each id to its position in a list, reporting missing and
// duplicate ids of that kind of thing.
func (l *linter) ids(kind, kinds string, n int, at func(int) (string, Pos)) map[string]int {
	ix := map[string]int{}
	for i := range n {
		id, pos := at(i)
		if id == "" {
			l.add(pos, "this %s has no id: add \"id: some_name\"", kind)
			continue
		}
		if j, dup := ix[id]; dup {
			_, other := at(j)
			l.add(pos, "two %s are called %q (the other is at %s:%d); ids must be unique", kinds, id, other.File, other.Line)
			continue
		}
		ix[id] = i
	}
	return ix
}

func (l *linter) hasState(id string) bool { _, ok := l.f.index[id]; return ok }

// suggestState offers the closest state id for a likely typo.
func (l *linter) suggestState(id string) string {
	best, bestD := "", 4
	for s := range l.f.index {
		if d := editDistance(id, s); d < bestD {
			best, bestD = s, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (l *linter) stateRef(pos Pos, what, id string) {
	if id != "" && !l.hasState(id) {
		l.add(pos, "%s goes to %q, but there is no state with that id%s", what, id, l.suggestState(id))
	}
}

func (l *linter) categoryRef(pos Pos, what, id string) {
	if _, ok := l.f.catIx[id]; id != "" && !ok {
		l.add(pos, "%s names the category %q, which is not in \"categories:\"", what, id)
	}
}

func (l *linter) locales() {
	f := l.f
	if len(f.Locales) == 0 {
		l.add(f.Pos, "the flow declares no languages: add \"locales:\" with at least one id (ja)")
	}
	seen := map[string]bool{}
	for _, loc := range f.Locales {
		switch {
		case loc.ID == "":
			l.add(loc.Pos, "this language has no id (ja, easy-ja, en…)")
		case seen[loc.ID]:
			l.add(loc.Pos, "the language %q is declared twice", loc.ID)
		}
		seen[loc.ID] = true
	}
}

func (l *linter) localeIDs() []string {
	ids := make([]string, len(l.f.Locales))
	for i, loc := range l.f.Locales {
		ids[i] = loc.ID
	}
	return ids
}

// text checks that t exists, non-empty, in every declared language and in no other.
func (l *linter) text(t Text, parent Pos, what string) {
	if t.ByLocale == nil {
		l.add(parent, "%s is missing: give it in every language (%s)", what, strings.Join(l.localeIDs(), ", "))
		return
	}
	for _, id := range l.localeIDs() {
		if strings.TrimSpace(t.ByLocale[id]) == "" {
			l.add(t.Pos, "%s has no %q text: every text must exist in every declared language", what, id)
		}
	}
	for id := range t.ByLocale {
		if !slices.Contains(l.localeIDs(), id) {
			l.add(t.Pos, "%s has a text in %q, which is not a declared language (%s)", what, id, strings.Join(l.localeIDs(), ", "))
		}
	}
}

func (l *linter) fixedTexts() {
	f := l.f
	pos := f.keyPos["texts"].or(f.Pos)
	keys := make([]string, 0, len(FixedTexts))
	for k := range FixedTexts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t, ok := f.Texts[k]
		if !ok {
			l.add(pos, "texts.%s is missing (%s)", k, FixedTexts[k])
			continue
		}
		l.text(t, f.Pos, "texts."+k)
		l.placeholders(t, "texts."+k)
	}
	for k := range OptionalTexts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for k, t := range f.Texts {
		if _, optional := OptionalTexts[k]; optional {
			l.text(t, pos, "texts."+k)
			l.placeholders(t, "texts."+k)
			continue
		}
		if _, ok := FixedTexts[k]; !ok {
			l.add(t.Pos, "texts.%s is not a text tsunagu uses (known: %s)", k, strings.Join(keys, ", "))
		}
	}
}

func (l *linter) categories() {
	f := l.f
	if len(f.Categories) == 0 {
		l.add(f.Pos, "the flow has no categories: add \"categories:\", at least the general one")
	}
	for _, c := range f.Categories {
		what := fmt.Sprintf("category %q", c.ID)
		l.text(c.Name, c.Pos, what+" name")
		if strings.TrimSpace(c.Channel) == "" {
			l.add(c.Pos, "%s has no Slack channel: add \"channel: \\\"#channel-name\\\"\" so its cases reach a team", what)
		}
		if strings.TrimSpace(c.Team) == "" {
			l.add(c.Pos, "%s has no team: add \"team:\" with the team's name", what)
		}
	}
}

func (l *linter) patterns() {
	f := l.f
	seen := map[string]bool{}
	for _, p := range f.Patterns {
		what := fmt.Sprintf("pattern %q", p.ID)
		if p.ID == "" || seen[p.ID] {
			l.add(p.Pos, "every pattern needs its own id (%q is empty or used twice)", p.ID)
		}
		seen[p.ID] = true
		l.text(p.Name, p.Pos, what+" name")
		if len(p.Phrases) == 0 {
			l.add(p.Pos, "%s has no phrases, so it can never be recognised", what)
		}
		for _, c := range p.Categories {
			l.categoryRef(p.Pos, what, c)
		}
	}
	if len(f.Patterns) > 0 && strings.TrimSpace(f.Coordination.Channel) == "" {
		l.add(f.Pos, "patterns are declared but \"coordination: channel:\" is not: compound cases need the coordination channel")
	}
}

func (l *linter) crisis() {
	f := l.f
	c := f.Crisis
	pos := c.Pos.or(f.Pos)
	if len(c.Rules) == 0 {
		l.add(pos, "the flow has no crisis rules: add \"crisis: rules:\" (suicide, violence, medical emergency) — residents in danger must get the emergency numbers at once")
	}
	numbers := map[string]bool{}
	for i := range c.Numbers {
		n := &c.Numbers[i]
		for _, err := range n.compileOpen() {
			l.add(n.Pos, "crisis number %q open: %v (write \"00:00-24:00\", \"10:00-22:00\" or \"mon-fri 08:30-17:15\")", n.ID, err)
		}
		if n.ID == "" || numbers[n.ID] {
			l.add(n.Pos, "every crisis number needs its own id (%q is empty or used twice)", n.ID)
		}
		numbers[n.ID] = true
		if strings.TrimSpace(n.Number) == "" {
			l.add(n.Pos, "crisis number %q has no number", n.ID)
		}
		l.text(n.Name, n.Pos, fmt.Sprintf("crisis number %q name", n.ID))
		l.text(n.Hours, n.Pos, fmt.Sprintf("crisis number %q hours", n.ID))
	}
	kinds := map[string]bool{}
	for _, r := range c.Rules {
		what := fmt.Sprintf("crisis rule %q", r.Kind)
		if r.Kind == "" || kinds[r.Kind] {
			l.add(r.Pos, "every crisis rule needs its own kind (%q is empty or used twice)", r.Kind)
		}
		kinds[r.Kind] = true
		if len(r.Phrases) == 0 {
			l.add(r.Pos, "%s has no phrases, so it can never fire", what)
		}
		if len(f.Concepts) > 0 {
			l.fragments(what, r.Phrases, r.Signs)
		}
		if r.Check.ByLocale != nil {
			l.text(r.Check, r.Pos, what+" check")
		}
		if r.SafeNow.ByLocale != nil {
			l.text(r.SafeNow, r.Pos, what+" safe_now")
		}
		if r.Other.ByLocale != nil {
			l.text(r.Other, r.Pos, what+" other")
			l.text(r.OtherSafeNow, r.Pos, what+" other_safe_now")
		}
		if len(r.Numbers) == 0 {
			l.add(r.Pos, "%s shows no numbers: list at least 119 or 110", what)
		}
		for _, id := range slices.Concat(r.Numbers, r.YoungNumbers) {
			if !numbers[id] {
				l.add(r.Pos, "%s shows the number %q, which is not in \"crisis: numbers:\"", what, id)
			}
		}
		l.text(r.Message, r.Pos, what+" message")
		if r.Category == "" {
			l.add(r.Pos, "%s has no category: name the team that takes the urgent case", what)
		}
		l.categoryRef(r.Pos, what, r.Category)
	}
	switch {
	case c.Next == "":
		l.add(pos, "crisis: next is missing: name the urgent handoff state every crisis leads to")
	case !l.hasState(c.Next):
		l.stateRef(pos, "crisis: next", c.Next)
	default:
		if h := f.States[f.index[c.Next]].Handoff; h == nil || !h.Urgent {
			l.add(pos, "crisis: next goes to %q, which is not an urgent handoff state (give it \"handoff: {urgent: true}\")", c.Next)
		}
	}
}

func (l *linter) concepts() {
	seen := map[string]bool{}
	for _, c := range l.f.Concepts {
		switch {
		case !conceptID.MatchString(c.ID):
			l.add(c.Pos, "concept id %q: use lower-case letters, digits and \"_\", starting with a letter (die, high_place)", c.ID)
		case seen[c.ID]:
			l.add(c.Pos, "two concepts are called %q; ids must be unique", c.ID)
		}
		seen[c.ID] = true
		if len(c.Words) == 0 {
			l.add(c.Pos, "concept %q has no words", c.ID)
		}
	}
}

// safetyCheck checks the question asked when the crisis signal is not clear.
func (l *linter) safetyCheck() {
	f := l.f
	c := f.Crisis.Check
	signs := false
	for _, r := range f.Crisis.Rules {
		signs = signs || len(r.Signs) > 0
	}
	if c.Message.ByLocale == nil && !signs && len(f.Crisis.Lower) == 0 {
		return // a flow without signs never asks
	}
	pos := c.Pos.or(f.Crisis.Pos.or(f.Pos))
	l.text(c.Message, pos, "crisis.check message")
	for _, b := range []struct {
		t    Text
		name string
	}{{c.Yes, "yes"}, {c.Unsure, "unsure"}, {c.No, "no"}} {
		l.text(b.t, pos, "crisis.check "+b.name)
		for loc, label := range b.t.ByLocale {
			if n := lineLen(label); n > maxLabelRunes {
				l.add(b.t.Pos, "crisis.check %s %q is %d characters in %q; LINE allows at most %d", b.name, label, n, loc, maxLabelRunes)
			}
		}
	}
	l.text(c.Thanks, pos, "crisis.check thanks")
	kinds := map[string]bool{}
	for _, r := range f.Crisis.Rules {
		kinds[r.Kind] = true
	}
	for _, lw := range f.Crisis.Lower {
		if len(lw.Phrases) == 0 {
			l.add(lw.Pos, "crisis.lower %q has no phrases", lw.ID)
		}
		for _, k := range lw.Kinds {
			if !kinds[k] {
				l.add(lw.Pos, "crisis.lower %q names the kind %q, which no crisis rule has", lw.ID, k)
			}
		}
	}
}

func (l *linter) intents() {
	f := l.f
	in := f.Intents
	check := func(name string, it Intent) bool {
		pos := it.Pos.or(f.Pos)
		if len(it.Phrases) == 0 {
			l.add(pos, "intents.%s has no phrases", name)
		}
		if it.Next == "" {
			l.add(pos, "intents.%s has no \"next:\" state", name)
			return false
		}
		l.stateRef(pos, "intents."+name, it.Next)
		return l.hasState(it.Next)
	}
	if check("human", in.Human) && f.States[f.index[in.Human.Next]].Handoff == nil {
		l.add(in.Human.Pos, "intents.human goes to %q, which is not a handoff state: asking for a person must reach a person", in.Human.Next)
	}
	if check("delete", in.Delete) && !slices.ContainsFunc(f.States[f.index[in.Delete.Next]].QuickReplies, func(q QuickReply) bool { return q.Erase }) {
		l.add(in.Delete.Pos, "intents.delete goes to %q, which has no button with \"erase: true\"", in.Delete.Next)
	}
	if check("language", in.Language) && !slices.ContainsFunc(f.States[f.index[in.Language.Next]].QuickReplies, func(q QuickReply) bool { return q.Locale != "" }) {
		l.add(in.Language.Pos, "intents.language goes to %q, which has no button with \"locale:\"", in.Language.Next)
	}
}

func (l *linter) states() {
	f := l.f
	for _, s := range f.States {
		what := fmt.Sprintf("state %q", s.ID)
		l.text(s.Message, s.Pos, what+" message")
		l.placeholders(s.Message, what+" message")
		if len(s.QuickReplies) > maxQuickReplies {
			l.add(s.Pos, "%s has %d buttons; LINE shows at most %d", what, len(s.QuickReplies), maxQuickReplies)
		}
		labels := map[string]int{}
		for i, q := range s.QuickReplies {
			qw := fmt.Sprintf("%s button %d", what, i+1)
			l.text(q.Label, q.Pos, qw+" label")
			for loc, label := range q.Label.ByLocale {
				if n := lineLen(label); n > maxLabelRunes {
					l.add(q.Label.Pos, "%s label %q is %d characters in %q; LINE allows at most %d", qw, label, n, loc, maxLabelRunes)
				}
				if j, dup := labels[loc+"\x00"+Normalize(label)]; dup {
					l.add(q.Label.Pos, "%s has the same label %q as button %d; residents could not tell them apart", qw, label, j)
				}
				labels[loc+"\x00"+Normalize(label)] = i + 1
			}
			if q.Next == "" && q.Category == "" && q.Locale == "" && !q.Erase && !q.Back {
				l.add(q.Pos, "%s does nothing: give it \"next:\", \"category:\", \"locale:\", \"erase:\" or \"back:\"", qw)
			}
			l.stateRef(q.Pos, qw, q.Next)
			l.categoryRef(q.Pos, qw, q.Category)
			if q.Locale != "" && !slices.Contains(l.localeIDs(), q.Locale) {
				l.add(q.Pos, "%s switches to %q, which is not a declared language", qw, q.Locale)
			}
		}
		if s.Handoff != nil {
			if s.Handoff.Category == "" {
				l.add(s.Handoff.Pos, "%s hands off but has no \"category:\" for residents who named no need (usually general)", what)
			}
			l.categoryRef(s.Handoff.Pos, what+" handoff", s.Handoff.Category)
			continue
		}
		switch r := s.Text; {
		case r == nil:
			l.add(s.Pos, "%s says nothing about free text: add \"text: {next: …}\" or \"text: {found: …, not_found: …}\" so no message is a dead end", what)
		case r.Back && (r.Next != "" || r.Found != "" || r.NotFound != ""):
			l.add(r.Pos, "%s text: \"back: true\" goes back where the resident came from; leave out \"next:\", \"found:\" and \"not_found:\"", what)
		case r.Back && len(s.QuickReplies) == 0:
			l.add(r.Pos, "%s text: \"back: true\" needs buttons: the question is asked once more before going back", what)
		case r.Back:
			if r.Again.ByLocale != nil {
				l.text(r.Again, r.Pos, what+" text again")
			}
		case r.Next != "" && (r.Found != "" || r.NotFound != ""):
			l.add(r.Pos, "%s text: use either \"next:\" or \"found:\"/\"not_found:\", not both", what)
		case r.Next == "" && (r.Found == "" || r.NotFound == ""):
			l.add(r.Pos, "%s text: needs \"next:\", or both \"found:\" and \"not_found:\" (where text goes when triage finds nothing)", what)
		default:
			l.stateRef(r.Pos, what+" text", r.Next)
			l.stateRef(r.Pos, what+" text found", r.Found)
			l.stateRef(r.Pos, what+" text not_found", r.NotFound)
			if r.Again.ByLocale != nil {
				l.text(r.Again, r.Pos, what+" text again")
			}
		}
	}
}

// conversationCare checks the keys that make the bot answer like a
// counsellor: acknowledgements, FAQ answers, guides, the contact details.
func (l *linter) conversationCare() {
	f := l.f
	f.Acknowledge.every = defaultAckEvery
	if e := strings.TrimSpace(f.Acknowledge.Every); e != "" {
		d, err := time.ParseDuration(e)
		switch {
		case err != nil:
			l.add(f.Acknowledge.Pos.or(f.Pos), "acknowledge.every %q is not a duration: write it like \"3h\" or \"90m\"", e)
		case d < time.Minute:
			l.add(f.Acknowledge.Pos.or(f.Pos), "acknowledge.every %q is too short: residents would be answered on every message (a minute at least)", e)
		default:
			f.Acknowledge.every = d
		}
	}
	seen := map[string]bool{}
	for _, q := range f.FAQ {
		what := fmt.Sprintf("faq %q", q.ID)
		if q.ID == "" || seen[q.ID] {
			l.add(q.Pos, "every faq entry needs its own id (%q is empty or used twice)", q.ID)
		}
		seen[q.ID] = true
		if len(q.Phrases) == 0 {
			l.add(q.Pos, "%s has no phrases, so it is never asked", what)
		}
		l.text(q.Answer, q.Pos, what+" answer")
		l.placeholders(q.Answer, what+" answer")
	}
	for _, c := range f.Categories {
		if c.Guide.ByLocale != nil {
			l.text(c.Guide, c.Pos, fmt.Sprintf("category %q guide", c.ID))
			l.placeholders(c.Guide, fmt.Sprintf("category %q guide", c.ID))
		}
	}
	if c := f.Contact; c.Address.ByLocale != nil {
		l.text(c.Address, c.Pos, "contact.address")
	}
}

// placeholders refuses {phone} and {address} in a text when contact: does
// not give them: a resident would read an empty gap.
func (l *linter) placeholders(t Text, what string) {
	for loc, s := range t.ByLocale {
		for _, m := range placeholderRe.FindAllString(s, -1) {
			if !slices.Contains(knownPlaceholders, m) {
				l.add(t.Pos, "%s (%s) has %s, which tsunagu does not fill (it fills %s)", what, loc, m, strings.Join(knownPlaceholders, " "))
			}
		}
		if strings.Contains(s, "{phone}") && strings.TrimSpace(l.f.Contact.Phone) == "" {
			l.add(t.Pos, "%s (%s) uses {phone}, but contact.phone is not set", what, loc)
		}
		if strings.Contains(s, "{address}") && l.f.Contact.Address.ByLocale == nil {
			l.add(t.Pos, "%s (%s) uses {address}, but contact.address is not set", what, loc)
		}
	}
}

// knownPlaceholders are the {words} a text may use; fill replaces them.
var knownPlaceholders = []string{"{greeting}", "{hours}", "{next_open}", "{status}", "{phone}", "{address}", "{categories}"}

var placeholderRe = regexp.MustCompile(`\{[a-z_]+\}`)

// LINE's text message holds 5,000 characters, but a crisis answer is read on
// a phone at the worst moment: the first bubble is short, the rest too.
const (
	maxFirstBubbleRunes = 300
	maxCrisisRestRunes  = 1000
)

// crisisBubbles checks that each crisis answer fits a phone, in every
// language: care and the first numbers in 300 characters, the other
// numbers and what happens now in 1,000 more.
func (l *linter) crisisBubbles() {
	f := l.f
	st := &step{f: f}
	for _, r := range f.Crisis.Rules {
		for _, young := range []bool{false, true} {
			if young && len(r.YoungNumbers) == 0 {
				continue
			}
			st.s.Young = young
			for _, loc := range l.localeIDs() {
				st.s.Locale = loc
				// The lines open at the hour come first: measure the first
				// bubble at every hour of a weekday and of a Sunday.
				longest, first := 0, 0
				for _, at := range lintHours(f) {
					st.in.Now = at
					ids := st.crisisNumbers(r)
					first = min(firstNumbers, len(ids))
					for _, m := range []Text{r.Message, r.Other} {
						b1 := m.In(loc, f.Locale()) + "\n" + strings.Join(st.numberLines(ids[:first]), "\n")
						longest = max(longest, utf8.RuneCountInString(b1))
					}
				}
				if longest > maxFirstBubbleRunes {
					l.add(r.Message.Pos.or(r.Pos), "crisis rule %q: the first bubble can be %d characters in %q (the message and %d numbers); keep it under %d so it reads on a phone", r.Kind, longest, loc, first, maxFirstBubbleRunes)
				}
				rest := f.Text("numbers_heading", loc) + strings.Join(st.numberLines(st.crisisNumbers(r)), "\n") +
					f.Text("urgent_closed", loc) + f.Text("safe_now", loc)
				if n := utf8.RuneCountInString(rest); n > maxCrisisRestRunes {
					l.add(r.Pos, "crisis rule %q: the bubbles after the first can be %d characters in %q; keep them under %d (fewer numbers, shorter texts)", r.Kind, n, loc, maxCrisisRestRunes)
				}
			}
		}
	}
}

// lintHours are the hours a crisis answer is measured at: each hour of a
// Monday and a Sunday, in the flow's time zone.
func lintHours(f *Flow) []time.Time {
	loc := f.Hours.location
	if loc == nil {
		loc = time.UTC
	}
	var at []time.Time
	for _, day := range []int{5, 11} { // 2026-01-05 is a Monday, 2026-01-11 a Sunday
		for h := range 24 {
			at = append(at, time.Date(2026, time.January, day, h, 30, 0, 0, loc))
		}
	}
	return at
}

// edges lists where each state can lead by buttons and free text. Erase
// leads back to the start; "back" is taken as the start too, which is the
// most that can be promised statically.
func (f *Flow) edges(id string) []string {
	s := f.States[f.index[id]]
	var out []string
	for _, q := range s.QuickReplies {
		switch {
		case q.Next != "":
			out = append(out, q.Next)
		case q.Erase || q.Back:
			out = append(out, f.Start)
		default:
			out = append(out, id)
		}
	}
	if r := s.Text; r != nil {
		for _, n := range []string{r.Next, r.Found, r.NotFound} {
			if n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// reachability proves two promises: every state can be reached, and from
// every state a person can be reached by buttons and free text alone,
// without the resident knowing any magic phrase.
func (l *linter) reachability() {
	f := l.f
	reached := map[string]bool{}
	queue := []string{f.Start, f.Crisis.Next, f.Intents.Human.Next, f.Intents.Delete.Next, f.Intents.Language.Next}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if reached[id] {
			continue
		}
		reached[id] = true
		queue = append(queue, f.edges(id)...)
	}
	// Reverse search from the handoff states.
	reverse := map[string][]string{}
	for _, s := range f.States {
		for _, to := range f.edges(s.ID) {
			reverse[to] = append(reverse[to], s.ID)
		}
	}
	human := map[string]bool{}
	for _, s := range f.States {
		if s.Handoff != nil {
			queue = append(queue, s.ID)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if human[id] {
			continue
		}
		human[id] = true
		queue = append(queue, reverse[id]...)
	}
	for _, s := range f.States {
		if !reached[s.ID] {
			l.add(s.Pos, "state %q cannot be reached: no button or text route leads to it from %q", s.ID, f.Start)
		}
		if !human[s.ID] {
			l.add(s.Pos, "state %q is a dead end: no button or free text leads from it to a person (a state with \"handoff:\")", s.ID)
		}
	}
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// fragments refuses crisis phrases that stop in the middle of a word
// (首をつ, 手首を切, 殴られ). Substrings were how a phrase list once followed
// Japanese grammar; phrases now match every form of their words, and a
// fragment matches inside words it was never meant for.
func (l *linter) fragments(what string, lists ...[]Phrase) {
	for _, list := range lists {
		for _, p := range list {
			if strings.ContainsAny(p.Text, "*+~") || !strings.ContainsFunc(p.Text, func(r rune) bool { return unicode.In(r, unicode.Hiragana, unicode.Katakana) }) {
				continue // other scripts and kanji-only words (想死) are not cut Japanese
			}
			if whole, ok := fragmentOf(p.Text); ok && whole != "" {
				l.add(p.Pos, "%s: %q stops in the middle of a word: write the whole word, e.g. %q. Phrases match every form of their words (殴られる also finds 殴られた, 殴られてる), so a fragment is never needed", what, p.Text, whole)
			} else if ok {
				l.add(p.Pos, "%s: %q stops in the middle of a word. Phrases match every form of their words (殴られる also finds 殴られた, 殴られてる), so a fragment is never needed", what, p.Text)
			}
		}
	}
}

// nonFinal are the conjugation forms a word takes only when more follows.
var nonFinal = map[string]bool{
	"未然形": true, "未然ウ接続": true, "未然ヌ接続": true, "未然レル接続": true, "連用形": true,
	"連用タ接続": true, "連用テ接続": true, "連用ゴザイ接続": true, "連用デ接続": true,
	"連用ニ接続": true, "仮定形": true, "仮定縮約１": true, "体言接続特殊": true, "体言接続特殊２": true,
}

// fragmentOf reports whether a phrase ends inside a word, and the whole
// word it likely stands for ("" when none can be told).
func fragmentOf(phrase string) (string, bool) {
	ks := sharedTokenizer().Analyze(prepare(phrase), tokenizer.Normal)
	for len(ks) > 0 && strings.TrimSpace(ks[len(ks)-1].Surface) == "" {
		ks = ks[:len(ks)-1]
	}
	if len(ks) == 0 {
		return "", false
	}
	feat := func(k tokenizer.Token, i int) string { v, _ := k.FeatureAt(i); return v }
	last := ks[len(ks)-1]
	pos, pos1 := feat(last, 0), feat(last, 1)
	// A stray single kana after a word is a misread ending: 首をつ, 払えな.
	if len(ks) > 1 && utf8.RuneCountInString(last.Surface) == 1 && isKana(last.Surface) &&
		(pos == "助動詞" && feat(last, 6) == "つ" || pos1 == "終助詞") {
		if before := ks[len(ks)-2]; nonFinal[feat(before, 5)] || feat(before, 0) == "助詞" {
			return "", true
		}
	}
	if len(ks) > 1 && pos == "助詞" && pos1 == "格助詞" {
		return "", true // 意識が: what follows decides the meaning
	}
	if len(ks) > 1 && utf8.RuneCountInString(last.Surface) == 1 && !isKana(last.Surface) &&
		(pos1 == "形容動詞語幹" || pos1 == "固有名詞" || nonFinal[feat(last, 5)]) {
		return "", true // 手首を切, 電車に飛び込: a stem
	}
	// A word cut before its ending: its dictionary form is the written form
	// plus kana (殴られ → 殴られる, 倒れ → 倒れる). Helpers (くれ, すぎ) are
	// often whole as written, and are left alone.
	if base := feat(last, 6); nonFinal[feat(last, 5)] && pos1 != "非自立" &&
		len(base) > len(last.Surface) && strings.HasPrefix(base, last.Surface) && isKana(base[len(last.Surface):]) {
		var b strings.Builder
		for _, k := range ks[:len(ks)-1] {
			b.WriteString(k.Surface)
		}
		b.WriteString(base)
		return b.String(), true
	}
	return "", false
}

// noLoops proves that nobody is held in the conversation for ever: from
// every state, a resident who only writes words that match nothing, and one
// who only ever presses the first button, reach a person. A path that comes
// back to where it was without one is reported with the path, at the state
// that sends it round.
func (l *linter) noLoops() {
	f := l.f
	for _, s := range f.States {
		if s.Handoff != nil {
			continue
		}
		if path, at, ok := l.walk(s.ID, f.wordsStep); !ok {
			pos := f.States[f.index[at]].Pos
			if r := f.States[f.index[at]].Text; r != nil {
				pos = r.Pos
			}
			l.add(pos, "a resident who only writes words that match nothing never reaches a person from state %q: %s — make one of these states lead on to a handoff (\"not_found:\" or \"next:\")", s.ID, strings.Join(path, " → "))
			return // one loop is reported once, not from each state on it
		}
		if path, at, ok := l.walk(s.ID, f.firstButtonStep); !ok {
			pos := f.States[f.index[at]].Pos
			if qs := f.States[f.index[at]].QuickReplies; len(qs) > 0 {
				pos = qs[0].Pos
			}
			l.add(pos, "a resident who only presses the first button never reaches a person from state %q: %s — let the first button of one of these states lead on", s.ID, strings.Join(path, " → "))
			return
		}
	}
}

// walk follows one kind of resident from a state. It returns the path, the
// state where it went round, and whether a person was reached.
func (l *linter) walk(from string, next func(id string, again bool) (string, bool)) ([]string, string, bool) {
	type stop struct {
		id    string
		again bool
	}
	seen := map[stop]bool{}
	cur, again := from, false
	path := []string{from}
	for {
		s := l.f.States[l.f.index[cur]]
		if s.Handoff != nil {
			return path, "", true
		}
		if seen[stop{cur, again}] {
			return path, path[len(path)-2], false
		}
		seen[stop{cur, again}] = true
		nxt, nowAgain := next(cur, again)
		if _, ok := l.f.index[nxt]; !ok {
			return path, "", true // a broken reference is reported elsewhere
		}
		if nxt == cur && nowAgain {
			path = append(path, nxt+" (asked again)")
		} else {
			path = append(path, nxt)
		}
		cur, again = nxt, nowAgain
	}
}

// wordsStep is where words that match nothing take a resident: the
// question asked once more where the flow says so, then next, not_found,
// or back (taken as the start, the most that can be promised statically).
func (f *Flow) wordsStep(id string, again bool) (string, bool) {
	s := f.States[f.index[id]]
	r := s.Text
	if r == nil {
		return f.Intents.Human.Next, false // the engine falls back to a person
	}
	if !again && len(s.QuickReplies) > 0 && (r.Again.ByLocale != nil || r.Back) {
		return id, true
	}
	switch {
	case r.Back:
		return f.Start, false
	case r.Next != "":
		return r.Next, false
	}
	return r.NotFound, false
}

// firstButtonStep is where pressing the first button takes a resident.
func (f *Flow) firstButtonStep(id string, _ bool) (string, bool) {
	s := f.States[f.index[id]]
	if len(s.QuickReplies) == 0 {
		return f.wordsStep(id, false)
	}
	q := s.QuickReplies[0]
	switch {
	case q.Next != "":
		return q.Next, false
	case q.Erase || q.Back:
		return f.Start, false
	}
	return id, false
}
