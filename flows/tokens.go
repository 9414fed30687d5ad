package flows

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
	"golang.org/x/text/unicode/norm"
)

// The tokenizer and its dictionary take about half a second and 100 MB to
// load, so one is built for the whole process, on first use, and shared: a
// kagome Tokenizer is safe for concurrent use.
var sharedTokenizer = sync.OnceValue(func() *tokenizer.Tokenizer {
	t, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
	if err != nil {
		panic("flows: the IPA dictionary does not load: " + err.Error())
	}
	return t
})

// WarmUp loads the tokenizer now rather than on the first message, so that
// a server's first resident does not wait for it.
func WarmUp() { sharedTokenizer() }

// token is one word of a sentence as triage compares it. Every form is
// folded the way the sentence text is (see fold), so that a phrase written
// 家賃, ヤチン or やちん meets the resident's word whichever way either wrote it.
type token struct {
	surf  string // the word as written
	lemma string // its dictionary form (死に → 死ぬ), or surf
	// yomi is the reading of the lemma in hiragana, or "" when unknown.
	yomi string
	// start and end are byte offsets into the sentence's text.
	start, end int
	// fn marks words that carry grammar, not content: particles,
	// auxiliaries, dependent verbs (〜てしまう, 〜ている). Words may sit
	// across them and still count as next to each other.
	fn bool
	// skip marks a grammar word that may sit inside a phrase (て, しまう,
	// たい); nominalisers (わけ, こと) end it, since 起きてるわけではない is
	// not 起きない.
	skip bool
	// verbal marks verbs, adjectives and auxiliaries; particle marks
	// particles and auxiliaries, grammar proper.
	verbal, particle bool
	// counts marks a content word for distances: nouns, verbs and
	// adjectives, but not light verbs (する, なる, いる) or adverbs.
	counts bool
	// conj is the conjugation class of verbs and adjectives (五段・ラ行,
	// 一段…): kana lemmas can be homophones (いる is 居る and 要る), and the
	// class tells them apart.
	conj string
	// latin marks words in Latin letters, matched as whole words.
	latin bool
}

// sentence is one sentence of a message: its folded text with separators
// (spaces, punctuation) removed, and its words in one or two readings.
type sentence struct {
	text string
	// toks are the words as the tokenizer read the sentence; alt, when not
	// nil, is a second reading with katakana turned to hiragana, which is how
	// slang written in katakana (シニタイ) is understood.
	toks, alt []token
}

// analysis is a message read for matching.
type analysis struct {
	sentences []sentence
}

// analyse splits text into sentences and reads each with the tokenizer.
func analyse(text string) analysis {
	text = norm.NFKC.String(clip(text, maxTextRunes))
	var a analysis
	for _, s := range splitSentences(text) {
		if sn, ok := readSentence(s); ok {
			a.sentences = append(a.sentences, sn)
		}
		// Japanese written in Latin letters is read once more, in kana.
		if k := fromRomaji(s); k != "" {
			if sn, ok := readSentence(k); ok {
				a.sentences = append(a.sentences, sn)
			}
		}
	}
	return a
}

// splitSentences cuts at the marks that end a sentence in Japanese and
// English, and at line breaks. Commas do not cut: a resident who writes
// "意味ないよ、生きてても" is saying one thing.
func splitSentences(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		end := false
		switch r {
		case '。', '!', '?', '\n', '｡', '．':
			end = true
		case '.':
			// A full stop, not a decimal point or an abbreviation's dot.
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			end = i+1 >= len(s) || next == ' ' || next == '\n'
		}
		if end {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + utf8.RuneLen(r)
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func readSentence(s string) (sentence, bool) {
	t := sharedTokenizer()
	prepared := fixSmallVowels(joinContractions(s))
	sn := sentence{}
	var b strings.Builder
	sn.toks = readTokens(t.Analyze(prepared, tokenizer.Normal), &b)
	sn.text = b.String()
	if sn.text == "" {
		return sentence{}, false
	}
	if hasKatakana(prepared) {
		// The second reading gives the same text, since folding turns
		// katakana to hiragana anyway; only the words differ.
		var alt strings.Builder
		sn.alt = readTokens(t.Analyze(toHiragana(prepared), tokenizer.Normal), &alt)
		if alt.String() != sn.text {
			sn.alt = nil // cannot happen with the folds below; stay safe
		}
	}
	return sn, true
}

// readTokens folds kagome's tokens and writes their text into b.
func readTokens(ks []tokenizer.Token, b *strings.Builder) []token {
	toks := make([]token, 0, len(ks))
	prev := rune(0)
	for _, k := range ks {
		surf, last := foldWord(k.Surface, prev)
		if surf == "" {
			continue // a separator: space, punctuation
		}
		prev = last
		tk := token{surf: surf, start: b.Len()}
		b.WriteString(surf)
		tk.end = b.Len()
		tk.latin = isASCII(surf)
		pos, _ := k.FeatureAt(0)
		pos1, _ := k.FeatureAt(1)
		tk.fn = pos == "助詞" || pos == "助動詞" || pos1 == "非自立" || pos1 == "接尾" || surf == "ー" || dialectGrammar[surf]
		if base, ok := k.FeatureAt(6); ok && base != "*" && base != "" {
			tk.lemma, _ = foldWord(base, 0)
		}
		if tk.lemma == "" {
			tk.lemma = surf
		}
		if tk.latin {
			tk.lemma = stemLatin(surf)
		}
		// する may sit inside a phrase too: 自殺したい is 自殺 + たい.
		tk.skip = tk.fn && !(pos == "名詞" && pos1 == "非自立") || tk.lemma == "する"
		reading, _ := k.FeatureAt(7)
		tk.yomi = lemmaReading(k.Surface, baseOr(k), reading)
		tk.conj = conjClass(k)
		tk.counts = !tk.fn && (tk.latin || (pos == "名詞" || pos == "動詞" || pos == "形容詞") && !lightVerbs[tk.lemma])
		tk.verbal = pos == "動詞" || pos == "形容詞" || pos == "助動詞"
		tk.particle = pos == "助詞" || pos == "助動詞"
		if n := len(toks); n > 0 && toks[n-1].surf == "て" && tk.lemma == "ける" && strings.HasPrefix(surf, "け") {
			// 出てけ, 持ってけ: the spoken ていけ, not 蹴る (to kick).
			tk.lemma, tk.yomi, tk.fn, tk.skip, tk.counts = "いく", "いく", true, true, false
		}
		toks = append(toks, tk)
	}
	return toks
}

// dialectGrammar are dialect endings the dictionary does not know and reads
// as words: けん (広島・九州 "because") is not 蹴る, ちょる is not a verb.
var dialectGrammar = map[string]bool{
	"けん": true, "けえ": true, "じゃけ": true, "やけん": true, "ちょる": true, "ちょう": true,
	"ちゅう": true, "べ": true, "べさ": true, "さあ": true, "がや": true, "だがや": true, "ばい": true,
	"っちゃ": true, "ねん": true, "やん": true,
}

// lightVerbs carry grammar more than meaning; they do not count as words
// between two others.
var lightVerbs = map[string]bool{
	"する": true, "なる": true, "いる": true, "ある": true, "くる": true, "いく": true, "やる": true,
	"おる": true, "できる": true, "れる": true, "られる": true, "せる": true, "させる": true,
}

// conjClass is the conjugation class of a verb or adjective, or "".
func conjClass(k tokenizer.Token) string {
	if c, ok := k.FeatureAt(4); ok && c != "*" {
		return c
	}
	return ""
}

func baseOr(k tokenizer.Token) string {
	if base, ok := k.FeatureAt(6); ok && base != "*" && base != "" {
		return base
	}
	return k.Surface
}

// lemmaReading derives the reading of a word's dictionary form from the
// reading of its written form: 死ん (シン) with lemma 死ぬ gives しぬ. The
// inflected ending is always kana, so it is swapped on the reading too.
func lemmaReading(surface, lemma, reading string) string {
	switch lemma {
	case "来る", "くる":
		return "くる" // irregular: 来 is き or こ, never the lemma's く
	case "する":
		return "する"
	}
	if reading == "" || reading == "*" {
		if isKana(lemma) {
			r, _ := foldWord(lemma, 0)
			return r
		}
		return ""
	}
	s, l := []rune(surface), []rune(lemma)
	p := 0
	for p < len(s) && p < len(l) && s[p] == l[p] {
		p++
	}
	if !isKana(string(s[p:])) || !isKana(string(l[p:])) {
		return ""
	}
	rr := []rune(reading)
	cut := len(s) - p
	if cut > len(rr) {
		return ""
	}
	r, _ := foldWord(string(rr[:len(rr)-cut])+string(l[p:]), 0)
	return r
}

// smallVowels are the small kana folded to full size when matching (しにたぃ
// is しにたい). っ, ゃ, ゅ and ょ stay: they spell other words (ねっと is not
// ねつ, びょういん is not びよういん).
var smallVowels = map[rune]rune{'ぁ': 'あ', 'ぃ': 'い', 'ぅ': 'う', 'ぇ': 'え', 'ぉ': 'お', 'ゎ': 'わ'}

// foldWord folds one word for matching, given the last rune written before
// it: katakana to hiragana, small vowels to full size, Latin to lower case,
// the long-vowel mark dropped (しにたーい is しにたい) except after て, where
// it is the colloquial ending of a wish (死にてー is 死にてえ). Spaces,
// punctuation and decorations fold to nothing; pictographs (🔪) stay, since
// residents say things with them. It returns the folded word and its last rune.
func foldWord(s string, prev rune) (string, rune) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		case r == 'ー' || r == '〜' || r == '~' || r == '～':
			if prev == 'て' {
				r = 'え'
			} else {
				continue
			}
		case r == '゛' || r == '゜' || r == '\ufe0f' || r == '\ufe0e':
			continue
		}
		if f, ok := smallVowels[r]; ok {
			r = f
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			r = unicode.ToLower(r)
		case unicode.Is(unicode.So, r):
		default:
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String(), prev
}

// fixSmallVowels writes a small vowel that only stretches a word (しにたぃ,
// やだぁ) full size before the tokenizer reads it, and leaves those that
// spell a sound (ティ, ふぁ, ウェ) alone.
func fixSmallVowels(s string) string {
	if !strings.ContainsAny(s, "ぁぃぅぇぉァィゥェォ") {
		return s
	}
	spells := "ふてでうしじちぢつゔフテデウシジチヂツヴ"
	var b strings.Builder
	prev := rune(0)
	for _, r := range s {
		if f, ok := smallKana[r]; ok && strings.ContainsRune("あいうえお", f) && !strings.ContainsRune(spells, prev) {
			r = f
		} else if k := r - ('ァ' - 'ぁ'); r >= 'ァ' && r <= 'ォ' {
			if f, ok := smallKana[k]; ok && !strings.ContainsRune(spells, prev) {
				r = f + ('ァ' - 'ぁ')
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func hasKatakana(s string) bool {
	n := 0
	for _, r := range s {
		if r >= 'ァ' && r <= 'ヶ' {
			if n++; n >= 2 {
				return true
			}
		}
	}
	return false
}

func toHiragana(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'ァ' && r <= 'ヶ' {
			return r - ('ァ' - 'ぁ')
		}
		return r
	}, s)
}

// isKana reports whether s is written in hiragana or katakana only (an
// empty string counts).
func isKana(s string) bool {
	for _, r := range s {
		if !unicode.In(r, unicode.Hiragana, unicode.Katakana) && r != 'ー' {
			return false
		}
	}
	return true
}

// stemLatin strips the commonest English endings, so that a rule written
// "hit" meets "hits" and "hitting": crude, but the same on both sides.
func stemLatin(w string) string {
	switch {
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		w = strings.TrimSuffix(w, "ing")
	case len(w) > 4 && strings.HasSuffix(w, "ied"):
		return strings.TrimSuffix(w, "ied") + "y"
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return strings.TrimSuffix(w, "ies") + "y"
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		w = strings.TrimSuffix(w, "ed")
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return strings.TrimSuffix(w, "s")
	default:
		return w
	}
	// hitting → hitt → hit
	if n := len(w); n > 2 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		w = w[:n-1]
	}
	return w
}
