package flows

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome/v2/tokenizer"
	"golang.org/x/text/unicode/norm"
)

// A word is one phrase an administrator wrote (死にたい, 首を吊る, kill
// myself), compiled so that it meets the resident's words however they bend
// them. It matches in three ways, and a match anywhere is a match:
//
//   - by dictionary forms: 首を吊る also meets 首吊った and 首をつってしまう,
//     because each word is compared by its lemma, particles between content
//     words may differ, and grammar words may sit between;
//   - by writing: the folded phrase as a substring of the folded sentence,
//     for what the tokenizer reads badly (hiragana-only text, slang);
//   - by reading: the phrase's kana reading as a substring, so that 家賃
//     meets やちん; readings of less than four kana only on word
//     boundaries, or うで would be found inside unrelated words.
//
// A phrase with "*" (死に*たい) matches by writing only: its pieces in order,
// at most maxGapRunes apart.
type word struct {
	raw string
	// elems are the phrase's words by dictionary form; empty when the phrase
	// has a "*" or the tokenizer made nothing of it.
	elems []elem
	// pieces are the parts of a Latin phrase with "*", word by word.
	pieces [][]elem
	// surfaces are the folded writings and readings matched as substrings;
	// each is a list of pieces (more than one with "*").
	surfaces [][]string
	latin    bool
	// stems are the kana stems of an inflecting phrase, matched by writing
	// anywhere (see compileWord).
	stems []string
	// inflects is set when the phrase ends in a word that conjugates (a verb,
	// an adjective, an auxiliary): by writing it then matches whole words
	// only, so 吊る is not found inside 吊るす.
	inflects bool
}

// elem is one word of a phrase by dictionary form.
type elem struct {
	lemma, surf string
	// yomi is the lemma's reading; it matches a resident's word only when one
	// of the two is written in kana, so that 着る never meets 切る.
	yomi string
	kana bool
	// fn marks a grammar word. Written in its dictionary form (たい, ない) it
	// matches all its forms; written otherwise (たら) only that form, since
	// たら is not た.
	fn   bool
	conj string
}

// maxGapRunes is how far apart the pieces of a phrase written with "*" may
// be: "消え*たい" matches "消えてしまいたい" but not two unrelated sentences.
// Latin words are longer, so ASCII phrases get twice the room.
const maxGapRunes = 8

// maxSkip is how many grammar words may sit between two words of a phrase:
// 死ん・で・しまい・たい still reads as 死ぬ + たい.
const maxSkip = 4

// caseParticles are left out of a phrase's words, so that 首を吊る meets
// 首吊る and 首は吊らない alike: residents drop and swap them freely.
var caseParticles = map[string]bool{"格助詞": true, "係助詞": true, "連体化": true}

// meaningParticles are kept all the same: 死ぬしかない is not 死なない.
var meaningParticles = map[string]bool{"しか": true, "こそ": true}

func compileWord(raw string) (word, bool) {
	w := word{raw: raw}
	if strings.Contains(raw, "*") {
		var pieces []string
		for _, p := range strings.Split(raw, "*") {
			if f := foldPhrase(p); f != "" {
				pieces = append(pieces, f)
			}
		}
		if len(pieces) == 0 {
			return word{}, false
		}
		w.latin = isASCII(strings.Join(pieces, ""))
		if !w.latin {
			w.surfaces = [][]string{pieces}
			return w, true
		}
		// Latin pieces are whole words: "want * die" is want, then die
		// within a few words.
		for _, p := range strings.Split(raw, "*") {
			if e := latinElems(p); len(e) > 0 {
				w.pieces = append(w.pieces, e)
			}
		}
		return w, len(w.pieces) > 0
	}
	f := foldPhrase(raw)
	if f == "" {
		return word{}, false
	}
	w.latin = isASCII(f)
	ks := sharedTokenizer().Analyze(prepare(raw), tokenizer.Normal)
	var reading strings.Builder
	readable := true
	prev := rune(0)
	words := 0 // words of the phrase, particles included
	for _, k := range ks {
		surf, last := foldWord(k.Surface, prev)
		if surf == "" {
			continue
		}
		prev = last
		words++
		r, ok := k.FeatureAt(7)
		if !ok || r == "*" || r == "" {
			if isKana(k.Surface) {
				r = k.Surface
			} else {
				readable = false
			}
		}
		reading.WriteString(r)
		pos1, _ := k.FeatureAt(1)
		if p, _ := k.FeatureAt(0); p == "助詞" && caseParticles[pos1] && !meaningParticles[surf] {
			continue
		}
		pos, _ := k.FeatureAt(0)
		e := elem{surf: surf, lemma: surf, kana: isKana(k.Surface), conj: conjClass(k),
			fn: pos == "助詞" || pos == "助動詞" || pos1 == "非自立" || pos1 == "接尾"}
		if base, ok := k.FeatureAt(6); ok && base != "*" && base != "" {
			e.lemma, _ = foldWord(base, 0)
		}
		if w.latin {
			e.lemma = stemLatin(surf)
		}
		e.yomi = lemmaReading(k.Surface, baseOr(k), r)
		w.elems = append(w.elems, e)
		w.inflects = e.conj != ""
	}
	if w.latin {
		// Latin phrases match as whole words, by token only.
		return w, len(w.elems) > 0
	}
	if words > 1 && !slices.ContainsFunc(w.elems, func(e elem) bool { return !e.fn }) {
		// Only grammar words left (から・だ read out of からだ, and から
		// dropped as a particle): by writing alone, or they would match in
		// every sentence. A phrase of one grammar word (たい, れる) is meant
		// as such, for combinations.
		w.elems = nil
	}
	w.surfaces = [][]string{{f}}
	if y, _ := foldWord(reading.String(), 0); readable && y != f && utf8.RuneCountInString(y) >= 2 {
		w.surfaces = append(w.surfaces, []string{y})
	}
	if w.inflects {
		// A verb's stem also matches by writing, since the tokenizer can cut
		// a sentence wrong (おしつけてくる read as お・しつけ, 頭打ちつけて as
		// 頭打ち・つけ) and the stem is still there. Four kana, or three
		// characters with a kanji, to stay specific.
		for _, form := range []string{f, w.readingOf(reading.String(), readable)} {
			rs := []rune(form)
			if len(rs) < 2 || !isKana(string(rs[len(rs)-1])) {
				continue
			}
			stem := string(rs[:len(rs)-1])
			if !isKana(string(rs[len(rs)-2])) {
				continue // 家から出 would also be 出る: the stem must end in kana
			}
			if n := len(rs) - 1; isKana(stem) && n >= 4 || !isKana(stem) && n >= 3 {
				w.stems = append(w.stems, stem)
			}
		}
	}
	return w, true
}

func (w word) readingOf(r string, readable bool) string {
	if !readable {
		return ""
	}
	y, _ := foldWord(r, 0)
	return y
}

// latinElems splits a Latin phrase into whole words.
func latinElems(s string) []elem {
	var out []elem
	for _, f := range strings.FieldsFunc(foldLatin(s), func(r rune) bool { return r == ' ' }) {
		out = append(out, elem{surf: f, lemma: stemLatin(f)})
	}
	return out
}

// foldLatin folds a Latin phrase word by word, keeping the spaces between.
func foldLatin(s string) string {
	var words []string
	for _, f := range strings.FieldsFunc(nfkc(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '\'' || r >= 0x80)
	}) {
		if w, _ := foldWord(f, 0); w != "" {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

// prepare is the form the tokenizer reads.
func prepare(s string) string { return fixSmallVowels(joinContractions(nfkc(s))) }

// joinContractions writes English contractions as one word (don't → dont),
// which is how residents who skip the apostrophe write them anyway.
func joinContractions(s string) string {
	if !strings.ContainsAny(s, "'’") {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if (r == '\'' || r == '’') && i > 0 && i+1 < len(rs) && isLatinLetter(rs[i-1]) && isLatinLetter(rs[i+1]) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isLatinLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func nfkc(s string) string { return norm.NFKC.String(s) }

// foldPhrase folds a whole phrase the way sentence text is folded.
func foldPhrase(s string) string {
	f, _ := foldWord(nfkc(s), 0)
	return f
}

// place is where something matched: in which sentence, and the byte range of
// its text.
type place struct {
	sent       int
	start, end int
}

// match is where an expression matched, and where each of its words did:
// an exception that covers one of them cancels the whole.
type match struct {
	place
	words []place
}

// lexicon is every distinct word of a flow, indexed for one pass per sentence.
type lexicon struct {
	words []word
	ids   map[string]int
	// byLemma indexes phrases by the forms of their first word.
	byLemma map[string][]int
	// bySurface indexes surface forms by their first two runes (or their
	// only one): at each place in a sentence, only the forms that start
	// with its next two characters are tried.
	bySurface map[string][]surfaceRef
	// terms registers the terms of phrase entries (a concept, or one word),
	// and termsOf lists, for each word, the terms it belongs to.
	terms   map[string]int
	termsOf [][]int
}

type surfaceRef struct {
	word   int
	pieces []string
	// stem marks a kana stem, which matches anywhere; loose a form that may
	// match inside words; noun a short reading of a noun, which never
	// matches verbs.
	stem, loose, noun bool
}

func newLexicon() *lexicon {
	return &lexicon{ids: map[string]int{}, byLemma: map[string][]int{}, bySurface: map[string][]surfaceRef{}, terms: map[string]int{}}
}

// term registers a term of phrase entries under a name and returns its
// number; the same name is the same term.
func (lx *lexicon) term(name string, words []int) int {
	if t, ok := lx.terms[name]; ok {
		return t
	}
	t := len(lx.terms)
	lx.terms[name] = t
	for _, w := range words {
		for len(lx.termsOf) <= w {
			lx.termsOf = append(lx.termsOf, nil)
		}
		lx.termsOf[w] = append(lx.termsOf[w], t)
	}
	return t
}

// present marks the terms of which a word matched in the message, and
// lists them.
func (lx *lexicon) present(h hits) ([]bool, []int) {
	p := make([]bool, len(lx.terms))
	var list []int
	for w := range h {
		if w < len(lx.termsOf) {
			for _, t := range lx.termsOf[w] {
				if !p[t] {
					p[t] = true
					list = append(list, t)
				}
			}
		}
	}
	return p, list
}

// add compiles raw once and returns its id, or -1 when it says nothing.
func (lx *lexicon) add(raw string) int {
	raw = strings.TrimSpace(raw)
	if id, ok := lx.ids[raw]; ok {
		return id
	}
	w, ok := compileWord(raw)
	if !ok {
		lx.ids[raw] = -1
		return -1
	}
	id := len(lx.words)
	lx.words = append(lx.words, w)
	lx.ids[raw] = id
	first := w.elems
	if len(w.pieces) > 0 {
		first = w.pieces[0]
	}
	if len(first) > 0 {
		e := first[0]
		for _, k := range uniq(e.lemma, e.surf, e.yomi) {
			lx.byLemma[k] = append(lx.byLemma[k], id)
		}
	}
	for i, pieces := range w.surfaces {
		ref := surfaceRef{word: id, pieces: pieces, loose: w.looseForm(pieces[0])}
		// A short reading of a noun (息 → いき) must not be a verb's kana (生き).
		ref.noun = i > 0 && !w.inflects && utf8.RuneCountInString(pieces[0]) <= 3
		k := surfaceKey(pieces[0])
		lx.bySurface[k] = append(lx.bySurface[k], ref)
	}
	for _, stem := range w.stems {
		k := surfaceKey(stem)
		lx.bySurface[k] = append(lx.bySurface[k], surfaceRef{word: id, pieces: []string{stem}, stem: true})
	}
	return id
}

func uniq(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// hits are the spans where each word of the lexicon matched in a message.
type hits map[int][]place

// match finds every word of the lexicon in the analysed message.
func (lx *lexicon) match(a analysis) hits {
	h := hits{}
	for si, sn := range a.sentences {
		lx.matchTokens(h, si, sn.toks)
		if sn.alt != nil {
			lx.matchTokens(h, si, sn.alt)
		}
		lx.matchSurfaces(h, si, sn)
	}
	return h
}

func (h hits) add(id int, sp place) {
	for _, o := range h[id] {
		if o == sp {
			return
		}
	}
	h[id] = append(h[id], sp)
}

func (lx *lexicon) matchTokens(h hits, si int, toks []token) {
	for i, t := range toks {
		for _, k := range uniq(t.lemma, t.surf, t.yomi) {
			for _, id := range lx.byLemma[k] {
				w := lx.words[id]
				if len(w.pieces) > 0 {
					if end, ok := matchPieces(w.pieces, toks, i); ok {
						h.add(id, place{si, t.start, toks[end].end})
					}
					continue
				}
				if end, ok := matchElems(w.elems, toks, i); ok {
					h.add(id, place{si, t.start, toks[end].end})
				}
			}
		}
	}
}

// matchElems matches a phrase's words from toks[i], letting grammar words
// sit between them, and returns the index of the last token matched.
func matchElems(elems []elem, toks []token, i int) (int, bool) {
	if !elems[0].meets(toks[i]) {
		return 0, false
	}
	at := i
	for _, e := range elems[1:] {
		found := false
		for j := at + 1; j < len(toks) && j <= at+1+maxSkip; j++ {
			if e.meets(toks[j]) {
				at, found = j, true
				break
			}
			if !toks[j].skip {
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return at, true
}

// maxGapWords is how many words may sit between the pieces of a Latin
// phrase with "*": "want * die" meets "I want to just die".
const maxGapWords = 4

// matchPieces matches a Latin "*" phrase from toks[i].
func matchPieces(pieces [][]elem, toks []token, i int) (int, bool) {
	end, ok := matchElems(pieces[0], toks, i)
	if !ok {
		return 0, false
	}
	for _, p := range pieces[1:] {
		found := false
		for j := end + 1; j < len(toks) && j <= end+1+maxGapWords; j++ {
			if e, ok := matchElems(p, toks, j); ok {
				end, found = e, true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return end, true
}

func (e elem) meets(t token) bool {
	if t.latin {
		return e.lemma == t.lemma || e.surf == t.surf
	}
	if e.surf == t.surf {
		return true
	}
	if e.fn {
		return e.surf == e.lemma && e.lemma == t.lemma
	}
	if t.fn {
		return false // a grammar word never stands in for a content word
	}
	if utf8.RuneCountInString(t.surf) == 1 && isKana(t.surf) {
		return false // a lone kana is the tokenizer guessing (け read as 蹴る)
	}
	if e.conj != "" && t.conj != "" && e.conj != t.conj {
		return false // homophones: 居る and 要る are both いる in kana
	}
	if e.lemma == t.lemma || e.surf == t.lemma {
		return true
	}
	// Readings: when one side is written in kana (やちん meets 家賃), or both
	// spell the same word with different kana (押し付ける, 押しつける); never
	// for homophones written with other kanji (着る does not meet 切る), and
	// never a single kana (刃 is not は).
	if e.kana || isKana(t.surf) || shareKanji(e.lemma, t.lemma) {
		return utf8.RuneCountInString(e.yomi) >= 2 && (e.yomi == t.yomi || e.yomi == t.lemma || e.lemma == t.yomi)
	}
	return false
}

// shareKanji reports whether a and b have a kanji in common.
func shareKanji(a, b string) bool {
	for _, r := range a {
		if unicode.Is(unicode.Han, r) && strings.ContainsRune(b, r) {
			return true
		}
	}
	return false
}

// surfaceKey is the index key of a surface form: its first two runes.
func surfaceKey(s string) string {
	_, n := utf8.DecodeRuneInString(s)
	if n < len(s) {
		_, m := utf8.DecodeRuneInString(s[n:])
		return s[:n+m]
	}
	return s
}

func (lx *lexicon) matchSurfaces(h hits, si int, sn sentence) {
	text := sn.text
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		// Forms of one rune, then forms that start with these two runes.
		lx.tryForms(h, si, sn, i, text[i:i+n])
		if i+n < len(text) {
			_, m := utf8.DecodeRuneInString(text[i+n:])
			lx.tryForms(h, si, sn, i, text[i:i+n+m])
		}
		i += n
	}
}

func (lx *lexicon) tryForms(h hits, si int, sn sentence, i int, key string) {
	text := sn.text
	for _, ref := range lx.bySurface[key] {
		w := lx.words[ref.word]
		if w.latin || !strings.HasPrefix(text[i:], ref.pieces[0]) {
			continue
		}
		end, ok := rest(text, i+len(ref.pieces[0]), ref.pieces[1:])
		if !ok {
			continue
		}
		if len(ref.pieces) == 1 && !ref.stem && !ref.loose && !wholeWords(sn, i, end) {
			continue
		}
		if ref.noun && coversVerb(sn, i, end) || !ref.loose && !ref.stem && onlyGrammarWords(sn, i, end) {
			continue
		}
		h.add(ref.word, place{si, i, end})
	}
}

// looseForm reports whether a written form of the phrase may match inside
// words: long enough, or with kanji, not to turn up by chance in kana
// (やちん inside another kana word would be chance; 首吊り would not). A
// phrase that ends in an inflecting word matches whole words only.
func (w word) looseForm(s string) bool {
	n := utf8.RuneCountInString(s)
	return !w.inflects && (n >= 4 || !isKana(s) && n >= 2)
}

// coversVerb reports whether a verb, adjective or auxiliary of the
// tokenizer's reading lies in bytes [i, end).
func coversVerb(sn sentence, i, end int) bool {
	for _, t := range sn.toks {
		if t.start < end && i < t.end && t.verbal {
			return true
		}
	}
	return false
}

// onlyGrammarWords reports whether the tokenizer read bytes [i, end) as
// particles and auxiliaries only (から・だ in 東京からだと): then a kana
// phrase found there by writing is chance.
func onlyGrammarWords(sn sentence, i, end int) bool {
	n := 0
	for _, t := range sn.toks {
		if t.start < end && i < t.end {
			if !t.particle {
				return false
			}
			n++
		}
	}
	return n > 0
}

// wholeWords reports whether bytes [i, end) start and end on word
// boundaries in either reading of the sentence.
func wholeWords(sn sentence, i, end int) bool {
	for _, toks := range [][]token{sn.toks, sn.alt} {
		starts, ends := false, false
		for _, t := range toks {
			starts = starts || t.start == i
			ends = ends || t.end == end
		}
		if starts && ends {
			return true
		}
	}
	return false
}

// rest matches the pieces of a "*" phrase after the first, each within
// maxGapRunes of the one before, and returns where the match ends.
func rest(hay string, at int, pieces []string) (int, bool) {
	for _, part := range pieces {
		window := hay[at:]
		if cut := byteOffset(window, maxGapRunes+utf8.RuneCountInString(part)); cut < len(window) {
			window = window[:cut]
		}
		i := strings.Index(window, part)
		if i < 0 {
			return 0, false
		}
		at += i + len(part)
	}
	return at, true
}

// byteOffset is the byte index of the n-th rune of s, or len(s).
func byteOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
