package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// An expr is one compiled phrase-list entry: a single word or phrase, or
// terms joined by operators, read left to right:
//
//	a + b   b follows a as part of one phrase: only grammar words between
//	        (死に + たい, 生き + たい + ない);
//	a ~ b   a and b in one sentence, at most nearWords words apart, in
//	        either order (生きる ~ 意味 ~ ない).
//
// A term is a concept (its words), written as its id or as @id, or a word
// written out. @id is the strict form: an unknown @id is an error, where an
// unknown bare id would be taken as an English word.
type expr struct {
	raw   string
	terms [][]int // word ids of each term
	// ids are the terms' numbers in the lexicon's term register, so that a
	// message can tell at once whether every term was found in it.
	ids []int
	ops []byte
	// names are the terms as written, for explanations.
	names []string
}

// nearWords is how many content words may sit between the two sides of "~".
const nearWords = 3

var conceptID = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// compileExpr compiles one entry; concepts maps concept ids to word ids.
// Errors are written for the administrator who wrote the entry.
func compileExpr(raw string, lx *lexicon, concepts map[string][]int) (expr, error) {
	e := expr{raw: raw}
	fields := strings.Fields(raw)
	isExpr := false
	for _, f := range fields {
		if f == "+" || f == "~" {
			isExpr = true
		}
	}
	if !isExpr {
		// A single phrase, which may have spaces (kill myself), or one concept.
		name := strings.TrimSpace(raw)
		if id, ok := strings.CutPrefix(name, "@"); ok {
			ids, known := concepts[id]
			if !known {
				return e, errf("%q: there is no concept called %q (concepts are declared under \"concepts:\")%s", raw, id, suggest(id, concepts))
			}
			e.terms, e.names, e.ids = [][]int{ids}, []string{name}, []int{lx.term("@"+id, ids)}
			return e, nil
		}
		if ids, ok := concepts[name]; ok {
			e.terms, e.names, e.ids = [][]int{ids}, []string{name}, []int{lx.term("@"+name, ids)}
			return e, nil
		}
		id := lx.add(raw)
		if id < 0 {
			return e, errf("%q has no letters to match", raw)
		}
		e.terms, e.names, e.ids = [][]int{{id}}, []string{raw}, []int{lx.term(raw, []int{id})}
		return e, nil
	}
	wantTerm := true
	for _, f := range fields {
		switch {
		case f == "+" || f == "~":
			if wantTerm {
				return e, errf("%q: %q needs a word or concept on each side", raw, f)
			}
			e.ops = append(e.ops, f[0])
			wantTerm = true
			continue
		case !wantTerm:
			return e, errf("%q: put + or ~ between %q and the word before it (a phrase with spaces cannot be part of a combination)", raw, f)
		}
		wantTerm = false
		if id, ok := strings.CutPrefix(f, "@"); ok {
			ids, known := concepts[id]
			if !known {
				return e, errf("%q: there is no concept called %q (concepts are declared under \"concepts:\")%s", raw, id, suggest(id, concepts))
			}
			e.terms, e.names, e.ids = append(e.terms, ids), append(e.names, f), append(e.ids, lx.term("@"+id, ids))
			continue
		}
		if ids, ok := concepts[f]; ok {
			e.terms, e.names, e.ids = append(e.terms, ids), append(e.names, f), append(e.ids, lx.term("@"+f, ids))
			continue
		}
		id := lx.add(f)
		if id < 0 {
			return e, errf("%q: %q has no letters to match", raw, f)
		}
		e.terms, e.names, e.ids = append(e.terms, []int{id}), append(e.names, f), append(e.ids, lx.term(f, []int{id}))
	}
	if wantTerm {
		return e, errf("%q ends with an operator: add the word or concept after it", raw)
	}
	return e, nil
}

// phraseError is a problem with one phrase entry, kept as its format and
// arguments so that it can be said in Japanese too.
type phraseError struct {
	format string
	args   []any
}

func errf(format string, args ...any) error { return &phraseError{format, args} }

func (e *phraseError) Error() string { return fmt.Sprintf(e.format, e.args...) }

// suggest offers the closest concept id for a likely typo.
func suggest(id string, concepts map[string][]int) string {
	best, bestD := "", 3
	for c := range concepts {
		if d := editDistance(id, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean @%s?)", best)
}

// matches returns where the expression matched in the message. Entries
// are evaluated once per message: the same phrase in several rules, and
// exceptions tried for every match, cost one evaluation.
func (e expr) matches(m *message) []match {
	for _, t := range e.ids {
		if !m.present[t] {
			return nil // a term is missing: no need to look closer
		}
	}
	if ms, ok := m.exprCache[e.raw]; ok {
		return ms
	}
	ms := e.evaluate(m)
	if m.exprCache == nil {
		m.exprCache = map[string][]match{}
	}
	m.exprCache[e.raw] = ms
	return ms
}

func (e expr) evaluate(m *message) []match {
	cur := termMatches(m, e.terms[0])
	for i, op := range e.ops {
		if len(cur) == 0 {
			return nil
		}
		next := termMatches(m, e.terms[i+1])
		var out []match
		for _, x := range cur {
			for _, y := range next {
				if x.sent != y.sent || op == '~' && (!nearest(x.place, y.place, next) || sameWord(x.words, y.place)) {
					continue
				}
				sn := m.a.sentences[x.sent]
				ok := false
				switch op {
				case '+':
					ok = attached(sn, x.place, y.place)
				case '~':
					ok = near(sn, x.place, y.place)
				}
				if !ok {
					continue
				}
				p := place{x.sent, min(x.start, y.start), max(x.end, y.end)}
				if !slices.ContainsFunc(out, func(o match) bool { return o.place == p }) {
					out = append(out, match{place: p, words: append(slices.Clip(x.words), y.words...)})
				}
			}
		}
		cur = out
	}
	return cur
}

// places returns where the expression matched, without its words.
func (e expr) places(m *message) []place {
	ms := e.matches(m)
	out := make([]place, len(ms))
	for i, x := range ms {
		out[i] = x.place
	}
	return out
}

// sameWord reports whether y is one of the words already matched, or lies
// within or around one: "a ~ b" is two words, and one word is not both
// (最後 is not a farewell and a "soon" at once).
func sameWord(words []place, y place) bool {
	return slices.ContainsFunc(words, func(w place) bool {
		return y.start >= w.start && y.end <= w.end || w.start >= y.start && w.end <= y.end
	})
}

// nearest reports whether y is the closest of ys to x on its side: "猫が
// 死んで、私も死にたい" pairs 猫 with the first 死 only.
func nearest(x, y place, ys []match) bool {
	for _, o := range ys {
		if o.sent != y.sent || o.place == y {
			continue
		}
		if y.start >= x.end && o.start >= x.end && o.start < y.start {
			return false // another y lies between x and this one, on the right
		}
		if y.end <= x.start && o.end <= x.start && o.end > y.end {
			return false // on the left
		}
	}
	return true
}

func termMatches(m *message, ids []int) []match {
	ps := m.termPlaces(ids)
	out := make([]match, len(ps))
	for i, p := range ps {
		out[i] = match{place: p, words: []place{p}}
	}
	return out
}

// attached reports whether y follows x with only grammar words between, in
// either reading of the sentence.
func attached(sn sentence, x, y place) bool {
	if y.start < x.end {
		// y overlaps x: it counts when it carries on past x (死にたい read as
		// 死に and as たい).
		return y.start >= x.start && y.end > x.end
	}
	if y.start == x.end {
		return true
	}
	for _, toks := range [][]token{sn.toks, sn.alt} {
		if toks != nil && onlyGrammar(toks, x.end, y.start) {
			return true
		}
	}
	return false
}

// onlyGrammar reports whether the bytes [from, to) are covered by at most
// maxSkip grammar words that may sit inside a phrase.
func onlyGrammar(toks []token, from, to int) bool {
	n, at := 0, from
	for _, t := range toks {
		if t.end <= from || t.start >= to {
			continue
		}
		if t.start != at || !t.skip || t.end > to {
			return false
		}
		at = t.end
		if n++; n > maxSkip {
			return false
		}
	}
	return at == to
}

// near reports whether x and y are at most nearWords content words apart.
func near(sn sentence, x, y place) bool { return within(sn, x, y, nearWords) }

// latinWords is the room "~" gives between English words, which carry
// fewer meanings each than Japanese ones (my elderly neighbour said her son
// hits her).
const latinWords = 7

// within reports whether x and y are at most n content words apart: nouns,
// verbs and adjectives count; grammar words, adverbs and light verbs (する,
// なる, いる) do not.
func within(sn sentence, x, y place, n int) bool {
	if x.start > y.start {
		x, y = y, x
	}
	if y.start <= x.end {
		return true
	}
	best := -1
	for _, toks := range [][]token{sn.toks, sn.alt} {
		if toks == nil {
			continue
		}
		words, latin := 0, 0
		for _, t := range toks {
			if t.start >= x.end && t.end <= y.start && t.counts {
				words++
				if t.latin {
					latin++
				}
			}
		}
		if latin > 0 && words == latin && n < latinWords {
			// English between: count it against the wider room.
			words = words * n / latinWords
		}
		if best < 0 || words < best {
			best = words
		}
	}
	return best <= n
}
