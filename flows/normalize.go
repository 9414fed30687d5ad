package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxTextRunes bounds what triage scans of one message: LINE's own limit
// for a text message, so a crisis word at the end of a long message counts.
const maxTextRunes = 5000

// smallKana folds small kana to their full-size twins: casual writing
// ("しにたぃ") and typos should not hide a need.
var smallKana = map[rune]rune{
	'ぁ': 'あ', 'ぃ': 'い', 'ぅ': 'う', 'ぇ': 'え', 'ぉ': 'お', 'っ': 'つ',
	'ゃ': 'や', 'ゅ': 'ゆ', 'ょ': 'よ', 'ゎ': 'わ', 'ゕ': 'か', 'ゖ': 'け',
}

// Normalize folds text for matching: NFKC (half-width kana to full width,
// full-width latin to ASCII), katakana to hiragana, small kana to full size,
// lower case, the long-vowel mark dropped, control characters removed, and
// every run of spaces, punctuation and symbols (emoji included) folded into
// one space. Phrases and messages go through the same function, so an
// administrator writes phrases naturally.
func Normalize(s string) string {
	s = clip(s, maxTextRunes)
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading space
	for _, r := range s {
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		case r == 'ー' || r == '〜' || r == '゛' || r == '゜':
			continue
		}
		if f, ok := smallKana[r]; ok {
			r = f
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// clip keeps at most n runes of s, always on a rune boundary.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// view is a normalised text in the two shapes phrases are matched against.
type view struct {
	spaced string // words separated by single spaces; ASCII phrases match whole words here
	joined string // spaces removed; Japanese phrases match here, whatever the spacing
}

func newView(s string) view {
	n := Normalize(s)
	return view{spaced: n, joined: strings.ReplaceAll(n, " ", "")}
}

// maxGapRunes is how far apart the pieces of a phrase written with "*" may
// be: "消え*たい" matches "消えてしまいたい" but not two unrelated sentences.
// Latin words are longer, so ASCII phrases get twice the room.
const maxGapRunes = 8

// phrase is one administrator phrase, compiled for matching.
type phrase struct {
	raw   string
	text  string   // normalised: spaced form for ASCII phrases, joined form otherwise
	parts []string // the pieces around "*", in the same form; one piece when there is no "*"
	ascii bool
}

func compilePhrase(raw string) (phrase, bool) {
	var parts []string
	for _, piece := range strings.Split(raw, "*") {
		if n := Normalize(piece); n != "" {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return phrase{}, false
	}
	p := phrase{raw: raw, ascii: isASCII(strings.Join(parts, ""))}
	for i := range parts {
		if !p.ascii {
			parts[i] = strings.ReplaceAll(parts[i], " ", "")
		}
	}
	p.parts, p.text = parts, strings.Join(parts, " ")
	return p, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// spans returns the byte spans where p occurs in v (in the shape p matches).
func (p phrase) spans(v view) [][2]int {
	hay := v.joined
	if p.ascii {
		hay = v.spaced
	}
	var out [][2]int
	for from := 0; from <= len(hay); {
		i := strings.Index(hay[from:], p.parts[0])
		if i < 0 {
			break
		}
		start := from + i
		if end, ok := p.rest(hay, start+len(p.parts[0])); ok && (!p.ascii || wordEdge(hay, start-1) && wordEdge(hay, end)) {
			out = append(out, [2]int{start, end})
		}
		_, size := utf8.DecodeRuneInString(hay[start:])
		from = start + size
	}
	return out
}

// rest matches the pieces after the first, each within maxGapRunes of the
// one before, and returns where the match ends.
func (p phrase) rest(hay string, at int) (int, bool) {
	for _, part := range p.parts[1:] {
		window := hay[at:]
		gap := maxGapRunes
		if p.ascii {
			gap *= 2
		}
		if cut := byteOffset(window, gap+utf8.RuneCountInString(part)); cut < len(window) {
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

// wordEdge reports whether the byte at i is outside an ASCII word: ASCII
// phrases must not match inside longer words ("die" in "diet"), but may sit
// right next to Japanese ("夫からdvを受けた").
func wordEdge(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
}

// rule is a set of phrases with exceptions that cancel the matches they overlap.
type rule struct {
	phrases []phrase
	except  []phrase
}

func compileRule(phrases, except []string) rule {
	var r rule
	for _, s := range phrases {
		if p, ok := compilePhrase(s); ok {
			r.phrases = append(r.phrases, p)
		}
	}
	for _, s := range except {
		if p, ok := compilePhrase(s); ok {
			r.except = append(r.except, p)
		}
	}
	return r
}

// matches returns the raw phrases of r that occur in v outside every exception.
func (r rule) matches(v view) []string {
	var hits []string
	for _, p := range r.phrases {
		for _, sp := range p.spans(v) {
			if !r.excepted(v, p.ascii, sp) {
				hits = append(hits, p.raw)
				break
			}
		}
	}
	return hits
}

func (r rule) excepted(v view, ascii bool, sp [2]int) bool {
	for _, e := range r.except {
		if e.ascii != ascii {
			continue // spans of different shapes cannot be compared
		}
		for _, es := range e.spans(v) {
			if es[0] < sp[1] && sp[0] < es[1] {
				return true
			}
		}
	}
	return false
}
