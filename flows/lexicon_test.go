package flows

import (
	"testing"
)

// testConcepts compiles phrases against a small concept set, as a flow would.
func testConcepts(t *testing.T, concepts map[string][]string, phrases, except []string) testRules {
	t.Helper()
	var problems Problems
	c := &compiler{lx: newLexicon(), concepts: map[string][]int{}, problems: &problems}
	for id, words := range concepts {
		for _, w := range words {
			c.concepts[id] = append(c.concepts[id], c.lx.add(w))
		}
	}
	ps := func(list []string) []Phrase {
		var out []Phrase
		for _, s := range list {
			out = append(out, Phrase{Text: s})
		}
		return out
	}
	rs := c.set(ps(phrases), ps(except))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return testRules{rs: rs, lx: c.lx}
}

func TestWordsMatchEveryForm(t *testing.T) {
	tests := []struct {
		phrase string
		text   string
		want   bool
	}{
		// dictionary forms meet conjugations
		{"殴られる", "夫に殴られた", true},
		{"殴られる", "また殴られてる", true},
		{"首を吊る", "首吊ったら楽かな", true},
		{"首を吊る", "首をつってしまう", true},
		{"死ぬ", "しにたい", true},
		// readings meet kana, both ways
		{"家賃", "やちんがはらえない", true},
		{"くくる", "首を括る", true},
		// okurigana differ, the verb is the same
		{"押し付ける", "枕を押しつけた", true},
		// homophones written with other kanji do not meet
		{"切る", "服を着る", false},
		{"要る", "ここにいない", false},
		// grammar words never stand for content words
		{"刃", "私は元気", false},
		// a short kana word is not found inside a longer one
		{"息", "息子が来た", false},
		{"からだ", "東京からだと遠い", false},
		// an inflecting phrase matches whole words only, or by its kana stem
		{"吊る", "物干しを吊るす", false},
		{"押し付ける", "おとうさんが たばこを おしつけてくる", true},
		// Latin phrases are whole words
		{"die", "I am on a diet", false},
		{"die", "I want to die.", true},
		{"kill myself", "i want to kill myself", true},
		{"dont want to live", "I don't want to live anymore", true},
		// romaji is read in kana
		{"殴られる", "kareshi ni nagurareta", true},
	}
	for _, tt := range tests {
		r := testSet(t, []string{tt.phrase}, nil)
		if got := r.count(tt.text) > 0; got != tt.want {
			t.Errorf("%q in %q: %v, want %v", tt.phrase, tt.text, got, tt.want)
		}
	}
}

func TestCombinations(t *testing.T) {
	concepts := map[string][]string{
		"die":  {"死ぬ", "消える"},
		"wish": {"たい", "てえ"},
		"live": {"生きる"},
		"mean": {"意味"},
		"neg":  {"ない"},
	}
	tests := []struct {
		phrase, text string
		want         bool
	}{
		{"die + wish", "死にたい", true},
		{"die + wish", "死んでしまいたい", true},
		{"die + wish", "死にてー", true},
		{"die + wish", "消えてしまいたいです", true},
		// a content word between: not one phrase
		{"die + wish", "死ぬまでに一度は行きたい", false},
		{"die + wish", "死ぬほど行きたい", false},
		// a nominaliser ends a phrase
		{"die + neg", "死ぬわけではない", false},
		// ~ takes either order, a few words apart, in one sentence
		{"live ~ mean ~ neg", "生きる意味がない", true},
		{"live ~ mean ~ neg", "意味ないよ、生きてても", true},
		{"live ~ mean ~ neg", "生きる。意味はない", false},
		{"@die + @wish", "死にたい", true},
		// an English word may be a literal in a combination
		{"kill ~ tonight", "I will kill myself tonight", true},
	}
	for _, tt := range tests {
		r := testConcepts(t, concepts, []string{tt.phrase}, nil)
		if got := r.count(tt.text) > 0; got != tt.want {
			t.Errorf("%q in %q: %v, want %v", tt.phrase, tt.text, got, tt.want)
		}
	}
}

func TestExceptionsCoverWords(t *testing.T) {
	concepts := map[string][]string{
		"die":   {"死ぬ"},
		"wish":  {"たい"},
		"thing": {"猫", "電池"},
	}
	r := testConcepts(t, concepts, []string{"die", "die + wish"}, []string{"死ぬほど + 笑う", "thing ~ die"})
	tests := []struct {
		text string
		want int
	}{
		{"死ぬほど笑った", 0},
		{"電池が死んだ", 0},
		// the exception covers the first 死ぬ, not the wish that follows
		{"猫が死んで、私も死にたい", 2},
		{"死にたい", 2},
	}
	for _, tt := range tests {
		if got := r.count(tt.text); got != tt.want {
			t.Errorf("%q: %d phrases matched, want %d", tt.text, got, tt.want)
		}
	}
}

func TestCompileExprErrors(t *testing.T) {
	lx := newLexicon()
	concepts := map[string][]int{"die": {lx.add("死ぬ")}, "wish": {lx.add("たい")}}
	for _, bad := range []string{"die +", "+ wish", "die + + wish", "die wish + tai", "@dye + wish", "、、"} {
		if _, err := compileExpr(bad, lx, concepts); err == nil {
			t.Errorf("compileExpr(%q): no error", bad)
		}
	}
	for _, good := range []string{"die + wish", "@die ~ 考える", "kill myself", "死に*たい", "want * die"} {
		if _, err := compileExpr(good, lx, concepts); err != nil {
			t.Errorf("compileExpr(%q): %v", good, err)
		}
	}
}

func TestFragments(t *testing.T) {
	tests := []struct {
		phrase string
		frag   bool
		whole  string
	}{
		{"首をつ", true, ""},
		{"手首を切", true, ""},
		{"殴られ", true, "殴られる"},
		{"倒れ", true, "倒れる"},
		{"意識が", true, ""},
		{"殴られる", false, ""},
		{"死にたい", false, ""},
		{"殺してくれ", false, ""},
		{"首吊り", false, ""},
	}
	for _, tt := range tests {
		whole, frag := fragmentOf(tt.phrase)
		if frag != tt.frag || whole != tt.whole {
			t.Errorf("fragmentOf(%q) = %q, %v; want %q, %v", tt.phrase, whole, frag, tt.whole, tt.frag)
		}
	}
}

func TestSafetyCheckAnswers(t *testing.T) {
	f := Default()
	tests := map[string]string{
		"はい":           "yes",
		"うん、そう":        "yes",
		"わからない":        "unsure",
		"いいえ":          "no",
		"大丈夫です":        "no",
		"家賃も払えない":      "",
		"仕事がなくなって":     "",
		"no, I'm fine": "no",
	}
	for text, want := range tests {
		if got := f.triage.checkAnswer(f.triage.read(text)); got != want {
			t.Errorf("checkAnswer(%q) = %q, want %q", text, got, want)
		}
	}
}

// FuzzTriage reads arbitrary text: whatever the bytes, triage answers
// without panicking, and a crisis verdict always names its kind.
func FuzzTriage(f *testing.F) {
	for _, s := range []string{"死にたい", "ｼﾆﾀｲ", "kareshi ni nagurareta", "I want to die", "", "。。。", "🔪", "死に\nたい", "a\x00b"} {
		f.Add(s)
	}
	fl := Default()
	f.Fuzz(func(t *testing.T, s string) {
		r := fl.Triage(s)
		if (r.Crisis || r.Check) && r.Kind == "" {
			t.Fatalf("verdict without a kind for %q: %+v", s, r)
		}
		if r.Crisis && r.Check {
			t.Fatalf("both a verdict and a check for %q", s)
		}
	})
}

// FuzzCompileExpr compiles arbitrary phrase entries: an error or an
// expression, never a panic.
func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{"die + wish", "@die ~ 考える", "死に*たい", "+", "~ ~", "a + @", "*", "kill myself"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lx := newLexicon()
		concepts := map[string][]int{"die": {lx.add("死ぬ")}}
		if e, err := compileExpr(s, lx, concepts); err == nil && len(e.terms) != len(e.ops)+1 {
			t.Fatalf("%q: %d terms, %d operators", s, len(e.terms), len(e.ops))
		}
	})
}
