package flows

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"シニタイ", "しにたい"},
		{"ｼﾆﾀｲ", "しにたい"},
		{"しにたぃ", "しにたい"},
		{"Ｈｅｌｌｏ　Ｗｏｒｌｄ！", "hello world"},
		{"ケアマネージャー", "けあまねじや"},
		{"死に、たい…", "死に たい"},
		{"  😢 help!! ", "help"},
		{"\x00\x1b[31m", "31m"},
		{"８０５０問題", "8050問題"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// testRules are phrases compiled as a flow would, without concepts.
type testRules struct {
	rs ruleSet
	lx *lexicon
}

// count is how many of the phrases match text outside the exceptions.
func (r testRules) count(text string) int {
	a := analyse(text)
	return len(r.rs.matched(&message{text: text, a: a, h: r.lx.match(a)}))
}

func testSet(t *testing.T, phrases, except []string) testRules {
	t.Helper()
	var problems Problems
	c := &compiler{lx: newLexicon(), concepts: map[string][]int{}, problems: &problems}
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

func TestRuleExceptionsAndWordEdges(t *testing.T) {
	r := testSet(t, []string{"死ぬ", "die", "DV"}, []string{"死ぬほど", "死ぬまでに"})
	tests := []struct {
		text string
		want int
	}{
		{"死ぬほど笑った", 0},
		{"死ぬまでに一度は", 0},
		{"死ぬほど笑ったけど本当は死ぬつもり", 1},
		{"I want to die", 1},
		{"I am on a diet", 0},
		{"die-hard fan", 1}, // whole word: a hyphen is a word edge
		{"夫からdvを受けた", 1},
		{"ＤＶ", 1},
	}
	for _, tt := range tests {
		if got := r.count(tt.text); got != tt.want {
			t.Errorf("matches(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestGreetingOnly(t *testing.T) {
	f := mini(t)
	for text, want := range map[string]bool{
		"こんにちは": true, "こんにちは！！": true, "Hello": true, "hi hello": true,
		"こんにちは、介護のことで": false, "hint": false, "": false, "😀": false,
	} {
		if got := f.triage.greetingOnly(f.triage.read(text)); got != want {
			t.Errorf("greetingOnly(%q) = %v, want %v", text, got, want)
		}
	}
}

type triageCase struct {
	Text   string   `yaml:"text"`
	Crisis bool     `yaml:"crisis"`
	Want   []string `yaml:"want"`
}

// TestTriageOnVariedSet measures the default flow's triage on a set written
// independently of its phrase lists, and holds it to floors. The figures are
// logged (go test -v -run TriageOnVaried ./flows) for the issue notes.
func TestTriageOnVariedSet(t *testing.T) {
	data, err := os.ReadFile("testdata/triage_set.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var set []triageCase
	if err := yaml.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	f := Default()
	var crises, caught, calm, falseAlarms, graded, right int
	for _, c := range set {
		r := f.Triage(c.Text)
		if c.Crisis {
			crises++
			if r.Crisis {
				caught++
			} else {
				t.Logf("missed crisis: %q", c.Text)
			}
			continue
		}
		calm++
		if r.Crisis {
			falseAlarms++
			t.Logf("false alarm (%s): %q", r.Kind, c.Text)
		}
		if c.Want == nil {
			continue
		}
		graded++
		ok := len(c.Want) == 0 && (len(r.Categories) == 0 || r.Categories[0] == "general") ||
			len(r.Categories) > 0 && slices.Contains(c.Want, r.Categories[0])
		if ok {
			right++
		} else {
			t.Logf("category: %q → %v, want one of %v first", c.Text, r.Categories, c.Want)
		}
	}
	recall := float64(caught) / float64(crises)
	alarms := float64(falseAlarms) / float64(calm)
	accuracy := float64(right) / float64(graded)
	t.Logf("crisis recall %d/%d = %.2f; false alarms %d/%d = %.2f; category accuracy %d/%d = %.2f",
		caught, crises, recall, falseAlarms, calm, alarms, right, graded, accuracy)
	if recall < 0.95 {
		t.Errorf("crisis recall %.2f is below 0.95", recall)
	}
	if alarms > 0.05 {
		t.Errorf("false alarm rate %.2f is above 0.05", alarms)
	}
	if accuracy < 0.80 {
		t.Errorf("category accuracy %.2f is below 0.80", accuracy)
	}
}

func TestGapPhrases(t *testing.T) {
	r := testSet(t, []string{"消え*たい", "want * die"}, nil)
	for text, want := range map[string]int{
		"消えたい":     1,
		"きえてしまいたい": 0, // a "*" phrase matches by writing only
		"消えてしまいたい": 1,
		"消えた。明日はどこかへ旅行に行きたいと思う": 0,
		"I want to die":                            1,
		"I want to just die":                       1,
		"I want pizza, and I hope nobody will die": 0,
	} {
		if got := r.count(text); got != want {
			t.Errorf("matches(%q) = %d, want %d", text, got, want)
		}
	}
}
