package flows

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// TriageResult is what triage found in what the resident wrote.
type TriageResult struct {
	// Crisis is set when a crisis rule matched: the numbers and a person, at once.
	Crisis bool `json:"crisis"`
	// Check is set when the signal was not clear enough for a crisis verdict
	// and the flow would ask the resident the safety check.
	Check bool `json:"check"`
	// Kind is the crisis kind of the verdict or the check, or empty.
	Kind string `json:"crisis_kind,omitempty"`
	// Categories are category ids ranked best first; empty when nothing matched.
	Categories []string `json:"categories"`
	// Patterns are the compound patterns that matched.
	Patterns []string `json:"patterns,omitempty"`
	// Compound is set when two or more categories or a pattern matched.
	Compound bool `json:"compound"`
	// Why says what matched, for the people who tune the rules:
	// "crisis suicide: 死に + たい", "check suicide: 遺書 (lowered by topic)",
	// "elderly: 介護".
	Why []string `json:"why,omitempty"`
}

// defaultSignsForCrisis is how many different signs make a crisis when the
// flow does not say.
const defaultSignsForCrisis = 3

// triager holds the flow's phrase rules compiled for matching.
type triager struct {
	lx         *lexicon
	crisis     []crisisRule // parallel to Flow.Crisis.Rules
	lower      []lowerRule  // parallel to Flow.Crisis.Lower
	categories []ruleSet    // parallel to Flow.Categories
	patterns   []ruleSet    // parallel to Flow.Patterns
	human      ruleSet
	del        ruleSet
	language   ruleSet
	greetings  ruleSet
	answers    [3]ruleSet // yes, unsure, no
	safe       ruleSet    // "I am safe now", after a crisis answer
	faq        []ruleSet  // parallel to Flow.FAQ
	guide      ruleSet
	waiting    ruleSet
	thanks     ruleSet
	takeback   ruleSet
	easy       ruleSet
	aboutOther ruleSet
	buttons    [][]ruleSet // per state, per button: the phrases that press it
	signsFor   int
}

// ruleSet is a list of phrases with exceptions that cancel the matches
// they overlap.
type ruleSet struct {
	exprs  entries
	except entries
}

type crisisRule struct {
	kind    string
	phrases entries
	signs   entries
	except  entries
	// young are signs only when a child or pupil writes them.
	young entries
}

type lowerRule struct {
	id    string
	kinds []string
	exprs entries
}

// entries are the compiled entries of one phrase list, indexed by their
// first term: a message only tries the entries whose first term it holds,
// which is a few dozen of the flow's thousands.
type entries struct {
	list   []expr
	byTerm map[int][]int
}

func newEntries(list []expr) entries {
	es := entries{list: list, byTerm: map[int][]int{}}
	for i, e := range list {
		es.byTerm[e.ids[0]] = append(es.byTerm[e.ids[0]], i)
	}
	return es
}

// in calls fn with the entries that may match m, in the order written.
func (es entries) in(m *message, fn func(i int, e expr) bool) {
	var cand []int
	for _, t := range m.terms {
		cand = append(cand, es.byTerm[t]...)
	}
	slices.Sort(cand)
	for _, i := range cand {
		if !fn(i, es.list[i]) {
			return
		}
	}
}

// compiler turns phrase lists into rule sets, reporting entries that do
// not compile where they were written.
type compiler struct {
	lx       *lexicon
	concepts map[string][]int
	problems *Problems
}

func (c *compiler) exprs(list []Phrase) entries {
	out := make([]expr, 0, len(list))
	for _, p := range list {
		if strings.TrimSpace(p.Text) == "" {
			c.problems.add(p.Pos, "this phrase is empty: write the words to look for, or remove the line")
			continue
		}
		e, err := compileExpr(p.Text, c.lx, c.concepts)
		if pe, ok := err.(*phraseError); ok {
			c.problems.add(p.Pos, pe.format, pe.args...)
			continue
		}
		out = append(out, e)
	}
	return newEntries(out)
}

func (c *compiler) set(phrases, except []Phrase) ruleSet {
	return ruleSet{exprs: c.exprs(phrases), except: c.exprs(except)}
}

// compileTriage builds the matchers of every phrase list; what does not
// compile is reported as a problem of the flow.
func (f *Flow) compileTriage() Problems {
	var problems Problems
	c := &compiler{lx: newLexicon(), concepts: map[string][]int{}, problems: &problems}
	for _, k := range f.Concepts {
		var ids []int
		for _, w := range k.Words {
			if strings.ContainsAny(w.Text, "+~") && strings.ContainsAny(w.Text, " ") {
				problems.add(w.Pos, "concept %q: %q is a combination; a concept lists plain words and phrases", k.ID, w.Text)
				continue
			}
			if id := c.lx.add(w.Text); id >= 0 {
				ids = append(ids, id)
			} else {
				problems.add(w.Pos, "concept %q: %q has no letters to match", k.ID, w.Text)
			}
		}
		if k.ID != "" {
			c.concepts[k.ID] = ids
		}
	}
	t := &triager{lx: c.lx, signsFor: f.Crisis.SignsForCrisis}
	if t.signsFor <= 0 {
		t.signsFor = defaultSignsForCrisis
	}
	for _, r := range f.Crisis.Rules {
		t.crisis = append(t.crisis, crisisRule{
			kind: r.Kind, phrases: c.exprs(r.Phrases), signs: c.exprs(r.Signs), except: c.exprs(r.Except), young: c.exprs(r.YoungSigns),
		})
	}
	for _, l := range f.Crisis.Lower {
		t.lower = append(t.lower, lowerRule{id: l.ID, kinds: l.Kinds, exprs: c.exprs(l.Phrases)})
	}
	for _, cat := range f.Categories {
		t.categories = append(t.categories, c.set(cat.Phrases, cat.Except))
	}
	for _, p := range f.Patterns {
		t.patterns = append(t.patterns, c.set(p.Phrases, p.Except))
	}
	t.human = c.set(f.Intents.Human.Phrases, nil)
	t.del = c.set(f.Intents.Delete.Phrases, nil)
	t.language = c.set(f.Intents.Language.Phrases, nil)
	t.greetings = c.set(f.Intents.Greetings, nil)
	a := f.Crisis.Check.Answers
	t.answers = [3]ruleSet{c.set(a.Yes, nil), c.set(a.Unsure, nil), c.set(a.No, nil)}
	t.safe = c.set(a.Safe, nil)
	for _, q := range f.FAQ {
		t.faq = append(t.faq, c.set(q.Phrases, q.Except))
	}
	t.guide = c.set(f.Intents.Guide, nil)
	t.waiting = c.set(f.Intents.Waiting, nil)
	t.thanks = c.set(f.Intents.Thanks, nil)
	t.takeback = c.set(f.Intents.Takeback, nil)
	t.easy = c.set(f.Intents.EasyJapanese, nil)
	t.aboutOther = c.set(f.Crisis.AboutOther, nil)
	for _, st := range f.States {
		var bs []ruleSet
		for _, q := range st.QuickReplies {
			bs = append(bs, c.set(q.Phrases, nil))
		}
		t.buttons = append(t.buttons, bs)
	}
	f.triage = t
	return problems
}

// message is one message read for triage: its sentences and every place a
// word of the flow matched in it.
type message struct {
	text string
	a    analysis
	h    hits
	// present marks the terms found in it, and terms lists them;
	// exprCache holds the entries worked out for it.
	present   []bool
	terms     []int
	exprCache map[string][]match
}

func (t *triager) read(text string) *message {
	a := analyse(text)
	h := t.lx.match(a)
	present, terms := t.lx.present(h)
	return &message{text: text, a: a, h: h, present: present, terms: terms}
}

// termPlaces are the places where any of the words matched.
func (m *message) termPlaces(ids []int) []place {
	if len(ids) == 1 {
		return m.h[ids[0]]
	}
	var out []place
	for _, id := range ids {
		out = append(out, m.h[id]...)
	}
	return out
}

// find returns the places where e matched, except those an exception
// covers: an exception that covers one word of a combination cancels it,
// so 死ぬほど笑った cancels 死ぬ, and 母が倒れたら ("if mother collapsed")
// cancels "collapse ~ 今" built on that 倒れ; but 猫が死んで covers nothing
// of the 死にたい that follows it.
func find(m *message, e expr, except entries) []place {
	ms := e.matches(m)
	if len(ms) == 0 {
		return nil
	}
	var cut []place
	except.in(m, func(_ int, x expr) bool {
		cut = append(cut, x.places(m)...)
		return true
	})
	out := make([]place, 0, len(ms))
	for _, x := range ms {
		covered := slices.ContainsFunc(x.words, func(w place) bool {
			return slices.ContainsFunc(cut, func(c place) bool { return c.sent == w.sent && c.start <= w.start && w.end <= c.end })
		})
		if !covered {
			out = append(out, x.place)
		}
	}
	return out
}

// matched returns the entries of rs that match m.
func (rs ruleSet) matched(m *message) []string {
	var out []string
	rs.exprs.in(m, func(_ int, e expr) bool {
		if len(find(m, e, rs.except)) > 0 {
			out = append(out, e.raw)
		}
		return true
	})
	return out
}

func (rs ruleSet) any(m *message) bool {
	found := false
	rs.exprs.in(m, func(_ int, e expr) bool {
		found = len(find(m, e, rs.except)) > 0
		return !found
	})
	return found
}

// sign is a reason for the safety check: a sign of a crisis rule, or a
// clear phrase that its context lowered.
type sign struct {
	rule int
	// key tells signs apart: the same sign twice adds nothing.
	key string
	why string
}

// crisisReading is what the crisis rules found in one message.
type crisisReading struct {
	rule  int // the first rule with a clear match, or -1
	why   string
	signs []sign
}

// youngSigns adds to r the signs that count when a child or a pupil
// writes (追い出された, 泊まるところがない from a 16-year-old at night).
func (t *triager) youngSigns(m *message, r *crisisReading) {
	for k, rule := range t.crisis {
		rule.young.in(m, func(i int, e expr) bool {
			if len(find(m, e, rule.except)) > 0 {
				r.signs = append(r.signs, sign{rule: k, key: fmt.Sprintf("%d:y%d", k, i), why: e.raw + " (young)"})
				return false
			}
			return true
		})
	}
}

// crisisOf reads one message against the crisis rules, in order. Signs
// found in one place of the message count once, whichever words found them,
// and a context that lowers drops a sign.
func (t *triager) crisisOf(m *message) crisisReading {
	r := crisisReading{rule: -1}
	var at []place // where each sign of r.signs was found
	addSign := func(sg sign, p place) {
		for i, o := range at {
			if o.sent == p.sent && o.start < p.end && p.start < o.end {
				// One place, one sign: the one read with more context
				// (夫…家に帰りたくない over 家に帰りたくない) names the kind.
				if p.start <= o.start && o.end <= p.end && p != o {
					r.signs[i], at[i] = sg, p
				}
				return
			}
		}
		r.signs = append(r.signs, sg)
		at = append(at, p)
	}
	for k, rule := range t.crisis {
		clear := false
		rule.phrases.in(m, func(i int, e expr) bool {
			for _, p := range find(m, e, rule.except) {
				if by := t.loweredBy(m, rule.kind, p); by != "" {
					addSign(sign{rule: k, key: fmt.Sprintf("%d:p%d", k, i), why: fmt.Sprintf("%s (lowered by %s)", e.raw, by)}, p)
					continue
				}
				r.rule, r.why, clear = k, e.raw, true
				return false
			}
			return true
		})
		if clear {
			return r
		}
		rule.signs.in(m, func(i int, e expr) bool {
			for _, p := range find(m, e, rule.except) {
				if t.loweredBy(m, rule.kind, p) == "" {
					addSign(sign{rule: k, key: fmt.Sprintf("%d:s%d", k, i), why: e.raw}, p)
					break
				}
			}
			return true
		})
	}
	return r
}

// loweredBy names the context near p, in its sentence, that lowers a
// match of kind, or "".
func (t *triager) loweredBy(m *message, kind string, p place) string {
	sn := m.a.sentences[p.sent]
	for _, l := range t.lower {
		if len(l.kinds) > 0 && !slices.Contains(l.kinds, kind) {
			continue
		}
		by := ""
		l.exprs.in(m, func(_ int, e expr) bool {
			for _, q := range e.places(m) {
				if q.sent == p.sent && within(sn, p, q, lowerWords) {
					by = l.id
					return false
				}
			}
			return true
		})
		if by != "" {
			return by
		}
	}
	return ""
}

// lowerWords is how far from a match a context still speaks about it.
const lowerWords = 8

// risk is what the crisis rules make of several messages together: a
// clear match in any of them, or signs that add up.
type risk struct {
	rule int // the crisis rule of the verdict or the check, or -1
	// crisis is set for a verdict; check for the safety check.
	crisis, check bool
	signs         []sign // distinct, oldest first
	why           []string
}

// assess adds up the crisis readings of messages, oldest first.
func (t *triager) assess(readings []crisisReading) risk {
	r := risk{rule: -1}
	for _, c := range readings {
		if c.rule >= 0 && !r.crisis {
			r.rule, r.crisis = c.rule, true
			r.why = append(r.why, fmt.Sprintf("crisis %s: %s", t.crisis[c.rule].kind, c.why))
		}
		for _, s := range c.signs {
			if !slices.ContainsFunc(r.signs, func(o sign) bool { return o.key == s.key }) {
				r.signs = append(r.signs, s)
			}
		}
	}
	if r.crisis || len(r.signs) == 0 {
		return r
	}
	// The rule with the most signs names the kind; on a tie, the first listed.
	count := make([]int, len(t.crisis))
	for _, s := range r.signs {
		count[s.rule]++
	}
	r.rule = 0
	for k := range count {
		if count[k] > count[r.rule] {
			r.rule = k
		}
	}
	verdict := "check"
	if len(r.signs) >= t.signsFor {
		r.crisis = true
		verdict = "crisis"
	} else {
		r.check = true
	}
	for _, s := range r.signs {
		r.why = append(r.why, fmt.Sprintf("%s %s: %s", verdict, t.crisis[s.rule].kind, s.why))
	}
	return r
}

// Triage reads the texts together (the resident's recent messages, oldest
// first): crisis rules first, then the categories they point to.
func (f *Flow) Triage(texts ...string) TriageResult {
	msgs := make([]*message, len(texts))
	for i, s := range texts {
		msgs[i] = f.triage.read(s)
	}
	return f.triageMessages(msgs)
}

func (f *Flow) triageMessages(msgs []*message) TriageResult {
	readings := make([]crisisReading, len(msgs))
	for i, m := range msgs {
		readings[i] = f.triage.crisisOf(m)
	}
	rk := f.triage.assess(readings)
	res := f.categorise(msgs)
	res.Crisis, res.Check = rk.crisis, rk.check
	res.Why = append(rk.why, res.Why...)
	if rk.rule >= 0 && (rk.crisis || rk.check) {
		rule := f.Crisis.Rules[rk.rule]
		res.Kind = rule.Kind
		if rk.crisis {
			// The team that takes the urgent case comes first, as in the engine.
			res.Categories = prepend(res.Categories, rule.Category)
		} else if !slices.Contains(res.Categories, rule.Category) {
			res.Categories = append(res.Categories, rule.Category)
		}
	}
	res.Compound = len(res.Patterns) > 0 || len(res.Categories) >= 2
	return res
}

// categorise ranks the categories by how many places in the messages
// their phrases matched (synonyms on one place count once), patterns adding
// one to each of their categories; on a tie the category listed first wins.
func (f *Flow) categorise(msgs []*message) TriageResult {
	res := TriageResult{Categories: []string{}}
	t := f.triage
	scores := make([]int, len(f.Categories))
	for i, rs := range t.categories {
		n, why := rs.places(msgs)
		scores[i] = n
		if n > 0 {
			res.Why = append(res.Why, f.Categories[i].ID+": "+strings.Join(why, ", "))
		}
	}
	if otherLanguage(msgs) {
		for i, c := range f.Categories {
			if c.OtherLanguages {
				scores[i]++
				res.Why = append(res.Why, c.ID+": written in another language")
			}
		}
	}
	for i, rs := range t.patterns {
		if n, _ := rs.places(msgs); n == 0 {
			continue
		}
		res.Patterns = append(res.Patterns, f.Patterns[i].ID)
		for _, c := range f.Patterns[i].Categories {
			if k, ok := f.catIx[c]; ok {
				scores[k]++
			}
		}
	}
	order := make([]int, 0, len(scores))
	for i, s := range scores {
		if s > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return scores[b] - scores[a] })
	for _, i := range order {
		res.Categories = append(res.Categories, f.Categories[i].ID)
	}
	return res
}

// otherLanguage reports whether the messages are written mostly in letters
// other than Japanese ones (English, Portuguese, Vietnamese, Korean…).
func otherLanguage(msgs []*message) bool {
	ja, other := 0, 0
	for _, m := range msgs {
		for _, r := range m.text {
			switch {
			case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
				ja++
			case unicode.IsLetter(r):
				other++
			}
		}
	}
	return other >= 3 && other > 2*ja
}

// places counts the separate places in msgs where phrases of rs matched
// (overlapping matches are one place), and names the phrases.
func (rs ruleSet) places(msgs []*message) (int, []string) {
	n := 0
	var why []string
	for _, m := range msgs {
		var got []place
		rs.exprs.in(m, func(_ int, e expr) bool {
			ps := find(m, e, rs.except)
			if len(ps) > 0 && !slices.Contains(why, e.raw) {
				why = append(why, e.raw)
			}
			for _, p := range ps {
				merged := false
				for k, g := range got {
					if g.sent == p.sent && g.start < p.end && p.start < g.end {
						got[k] = place{g.sent, min(g.start, p.start), max(g.end, p.end)}
						merged = true
						break
					}
				}
				if !merged {
					got = append(got, p)
				}
			}
			return true
		})
		n += len(got)
	}
	return n, why
}

// greetingOnly reports whether m says nothing but greetings ("こんにちは！",
// "hello"), which is never triaged as a need.
func (t *triager) greetingOnly(m *message) bool { return t.greetings.only(m) }

// thanksOnly reports whether m says nothing but thanks (わかりました、
// ありがとうございます).
func (t *triager) thanksOnly(m *message) bool { return t.thanks.only(m) }

// only reports whether the set's phrases cover all of m.
func (rs ruleSet) only(m *message) bool {
	if len(m.a.sentences) == 0 || len(rs.exprs.list) == 0 {
		return false
	}
	covered := make([][]bool, len(m.a.sentences))
	for i, sn := range m.a.sentences {
		covered[i] = make([]bool, len(sn.text))
	}
	rs.exprs.in(m, func(_ int, e expr) bool {
		for _, p := range e.places(m) {
			for b := p.start; b < p.end; b++ {
				covered[p.sent][b] = true
			}
		}
		return true
	})
	for _, c := range covered {
		if slices.Contains(c, false) {
			return false
		}
	}
	return true
}

// checkAnswer reads a typed answer to the safety check: "yes", "unsure",
// "no", or "" when the words are not an answer. An answer is (nearly) the
// whole message: うん、そう or 大丈夫です, but not the ない of 家賃も払えない.
// A crisis in the words (いいえ、本当は死にたい) was caught before this.
func (t *triager) checkAnswer(m *message) string {
	for i, name := range []string{"yes", "unsure", "no"} {
		if t.answers[i].covers(m, maxAnswerRest) {
			return name
		}
	}
	if t.takeback.any(m) {
		return "no" // やっぱ大丈夫です、忘れてください: a no in more words
	}
	return ""
}

// safeAnswer reads an answer to the crisis answer's "are you safe now?":
// "safe" (大丈夫です, やっぱりいいです), "unsure" (わからない, and a bare
// いいえ, which to that question may mean "no, I am not safe"), or "" when
// the words are not an answer, or say they are not safe (大丈夫じゃない),
// which the crisis acknowledgement answers.
func (t *triager) safeAnswer(m *message) string {
	switch t.checkAnswer(m) {
	case "yes":
		return ""
	case "unsure":
		return "unsure"
	case "no":
		if t.safe.covers(m, maxAnswerRest) || t.takeback.any(m) {
			return "safe"
		}
		return "unsure"
	}
	return ""
}

// maxAnswerRest is how many runes a typed answer may have besides its
// answer words: です, ね, よ and the like.
const maxAnswerRest = 4

// covers reports whether matches of rs cover the message but for at most
// rest runes.
func (rs ruleSet) covers(m *message, rest int) bool {
	if len(m.a.sentences) == 0 {
		return false
	}
	left, any := 0, false
	for si, sn := range m.a.sentences {
		covered := make([]bool, len(sn.text))
		rs.exprs.in(m, func(_ int, e expr) bool {
			for _, p := range find(m, e, rs.except) {
				if p.sent != si {
					continue
				}
				any = true
				for b := p.start; b < p.end; b++ {
					covered[b] = true
				}
			}
			return true
		})
		for b := range sn.text { // rune by rune
			if !covered[b] {
				left++
			}
		}
	}
	return any && left <= rest
}

// question reports whether the message asks something: it ends with a
// question mark, or a sentence ends with か, かな, かしら or っけ.
func (m *message) question() bool {
	t := strings.TrimRightFunc(m.text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("。.!！…〜~w笑", r) || unicode.Is(unicode.So, r)
	})
	if strings.HasSuffix(t, "?") || strings.HasSuffix(t, "？") || strings.HasSuffix(t, "吗") {
		return true
	}
	for _, end := range []string{"よね", "でしょう", "でしょ", "んですが", "のですが", "んだけど"} {
		if strings.HasSuffix(t, end) {
			return true // 市営住宅はペット無理ですよね, 車ダメって聞いたんですが
		}
	}
	for _, sn := range m.a.sentences {
		for i := len(sn.toks) - 1; i >= 0; i-- {
			tk := sn.toks[i]
			if !tk.fn && tk.lemma != "か" {
				break
			}
			switch tk.lemma {
			case "か", "かな", "かしら", "っけ":
				return true
			}
		}
	}
	return false
}
