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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
