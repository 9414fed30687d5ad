package flows

import (
	"strings"
)

// Residents who cannot type Japanese, and some who only have a Latin
// keyboard at hand, write Japanese in Latin letters: "kareshi ni
// nagurareta", "mou owari ni suru". A sentence that reads as romaji is
// also read in hiragana, so that every rule meets it.

// romajiSyllables maps romaji spellings (Hepburn, Kunrei and keyboard
// habits) to hiragana; the longest spelling is tried first.
var romajiSyllables = func() map[string]string {
	m := map[string]string{}
	add := func(kana string, spellings ...string) {
		for _, s := range spellings {
			m[s] = kana
		}
	}
	vowels := "aiueo"
	rows := []struct {
		c    string
		kana string // the five kana of the row, a i u e o
	}{
		{"", "あいうえお"}, {"k", "かきくけこ"}, {"g", "がぎぐげご"}, {"s", "さしすせそ"}, {"z", "ざじずぜぞ"},
		{"t", "たちつてと"}, {"d", "だぢづでど"}, {"n", "なにぬねの"}, {"h", "はひふへほ"}, {"b", "ばびぶべぼ"},
		{"p", "ぱぴぷぺぽ"}, {"m", "まみむめも"}, {"r", "らりるれろ"},
	}
	for _, row := range rows {
		kana := []rune(row.kana)
		for i, v := range vowels {
			add(string(kana[i]), row.c+string(v))
		}
	}
	add("や", "ya")
	add("ゆ", "yu")
	add("よ", "yo")
	add("わ", "wa")
	add("を", "wo")
	add("し", "shi")
	add("ち", "chi")
	add("つ", "tsu")
	add("ふ", "fu")
	add("じ", "ji")
	add("ん", "nn", "n'")
	yoon := []struct {
		c    string
		kana string // the i-row kana
	}{
		{"k", "き"}, {"g", "ぎ"}, {"n", "に"}, {"h", "ひ"}, {"b", "び"}, {"p", "ぴ"}, {"m", "み"}, {"r", "り"},
	}
	for _, y := range yoon {
		add(y.kana+"ゃ", y.c+"ya")
		add(y.kana+"ゅ", y.c+"yu")
		add(y.kana+"ょ", y.c+"yo")
	}
	for _, x := range []struct{ kana, h, k string }{{"し", "sh", "sy"}, {"ち", "ch", "ty"}, {"じ", "j", "zy"}} {
		add(x.kana+"ゃ", x.h+"a", x.k+"a")
		add(x.kana+"ゅ", x.h+"u", x.k+"u")
		add(x.kana+"ょ", x.h+"o", x.k+"o")
		add(x.kana+"ぇ", x.h+"e")
	}
	add("じゃ", "jya")
	add("じゅ", "jyu")
	add("じょ", "jyo")
	add("ふぁ", "fa")
	add("ふぃ", "fi")
	add("ふぇ", "fe")
	add("ふぉ", "fo")
	add("てぃ", "thi")
	add("う゛", "vu")
	return m
}()

// japaneseWords are romaji words that English hardly has: two of them in a
// sentence say it is Japanese.
var japaneseWords = map[string]bool{
	"ni": true, "wo": true, "ga": true, "wa": true, "mo": true, "desu": true, "masu": true, "mashita": true,
	"kara": true, "kedo": true, "ima": true, "mou": true, "mata": true, "kyou": true, "ashita": true,
	"watashi": true, "boku": true, "ore": true, "atashi": true, "nai": true, "iru": true, "aru": true,
	"suru": true, "shita": true, "shitai": true, "tte": true, "dakara": true, "demo": true, "totemo": true,
	"zutto": true, "kowai": true, "tasukete": true, "onegai": true, "nani": true, "doko": true, "dou": true,
	"shinitai": true, "kietai": true, "tsurai": true, "kurushii": true, "itai": true, "yo": true, "ne": true,
	"kore": true, "sore": true, "ano": true, "kono": true, "sono": true, "minna": true, "hontou": true,
}

// fromRomaji returns the hiragana reading of a sentence written in romaji,
// or "" when it does not read as Japanese.
func fromRomaji(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '.' || r == '!' || r == '?' })
	latin, parsed, japanese := 0, 0, 0
	out := make([]string, 0, len(words))
	for _, w := range words {
		lw := strings.ToLower(w)
		if !isASCII(lw) || !strings.ContainsFunc(lw, func(r rune) bool { return r >= 'a' && r <= 'z' }) {
			out = append(out, w)
			continue
		}
		latin++
		if japaneseWords[lw] {
			japanese++
		}
		if k, ok := romajiWord(lw); ok {
			parsed++
			out = append(out, k)
			continue
		}
		out = append(out, w)
	}
	if latin == 0 || japanese < 1 || parsed*10 < latin*7 || latin >= 2 && japanese < 2 && parsed < latin {
		return ""
	}
	return strings.Join(out, " ")
}

// romajiWord spells one romaji word in hiragana, or reports false.
func romajiWord(w string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(w); {
		c := w[i]
		if c < 'a' || c > 'z' {
			return "", false
		}
		// A doubled consonant is a small tsu: kitta, zutto, matcha.
		if i+1 < len(w) && c == w[i+1] && !strings.ContainsRune("aiueon", rune(c)) || c == 't' && strings.HasPrefix(w[i:], "tch") {
			b.WriteString("っ")
			i++
			continue
		}
		matched := false
		for n := 4; n >= 1; n-- {
			if i+n > len(w) {
				continue
			}
			if k, ok := romajiSyllables[w[i:i+n]]; ok {
				b.WriteString(k)
				i += n
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		// A lone n before a consonant or at the end is ん.
		if c == 'n' && (i+1 == len(w) || !strings.ContainsRune("aiueoy", rune(w[i+1]))) {
			b.WriteString("ん")
			i++
			continue
		}
		return "", false
	}
	return b.String(), true
}
