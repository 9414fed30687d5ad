package studio

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

// keep plays turns into a conversation test and loads it back.
func keep(t *testing.T, f *flows.Flow, sc Script) (string, flows.Conversation) {
	t.Helper()
	data, err := ConversationTest(f, sc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kept.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	convs, err := flows.LoadConversations(os.DirFS(dir), []string{"kept.yaml"})
	if err != nil {
		t.Fatalf("the kept test does not load: %v\n%s", err, data)
	}
	if len(convs) != 1 {
		t.Fatalf("want one test, got %d", len(convs))
	}
	return string(data), convs[0]
}

func TestKeptConversationPassesOnItsFlow(t *testing.T) {
	f := mustDefault(t)
	first, err := Step(f, StepRequest{Turn: Turn{Kind: turnEvent, Event: "follow"}})
	if err != nil {
		t.Fatal(err)
	}
	offered := buttons(first.Items)
	work := offered[slices.IndexFunc(offered, func(b Button) bool { return b.Label == "仕事" })]
	tests := []struct {
		name  string
		sc    Script
		wants []string
	}{
		{"crisis after a button", Script{Name: "仕事のあと消えたい", Turns: []Turn{
			{Kind: turnEvent, Event: "follow"},
			{Kind: turnChoose, Label: work.Label, Data: work.Data},
			{Kind: turnSay, Text: "もう無理、消えたい"},
		}}, []string{"event: follow", "choose: 仕事", "say: もう無理、消えたい", `reply_contains: ["119", "110"`,
			"handoff: {categories: [health, work], urgent: true}", "state: handoff_urgent", "handoff: none", "check: none",
			`at: "2026-11-25T10:00:00+09:00"`}},
		{"check, answered yes", Script{Name: "確認にはい", Turns: []Turn{
			{Kind: turnSay, Text: "もう疲れた、全部どうでもいい"},
			{Kind: turnChoose, Label: "はい", Data: "check:yes"},
		}}, []string{"check: suicide", "choose: はい", "urgent: true"}},
		{"English at night, then a sticker after the handoff", Script{Name: "night", Locale: "en", At: "2026-11-25T21:00:00+09:00", Turns: []Turn{
			{Kind: turnSay, Text: "I want to talk to a person"},
			{Kind: turnEvent, Event: "sticker"},
		}}, []string{"locale: en", "relay: true", `at: "2026-11-25T21:00:00+09:00"`}},
		{"yes and no are quoted", Script{Name: "yes", Turns: []Turn{{Kind: turnSay, Text: "yes"}, {Kind: turnSay, Text: "no"}}},
			[]string{`say: "yes"`, `say: "no"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml, conv := keep(t, f, tt.sc)
			for _, w := range tt.wants {
				if !strings.Contains(yaml, w) {
					t.Errorf("the test lacks %q:\n%s", w, yaml)
				}
			}
			if r := f.Run(conv); !r.Passed() {
				t.Errorf("the kept test fails on the flow it was kept from:\n%s\n%s", strings.Join(r.Failures, "\n"), yaml)
			}
		})
	}
}

// A kept test is worth keeping only if it fails when the flow changes what
// it did: here a new crisis phrase catches words that were calm.
func TestKeptConversationFailsWhenTheFlowChanges(t *testing.T) {
	f := mustDefault(t)
	_, conv := keep(t, f, Script{Name: "calm", Turns: []Turn{{Kind: turnSay, Text: "海の底で眠りたい"}}})
	dir := flowWith(t, change{"crisis.yaml", "- kind: suicide\n      category: health\n",
		"- kind: suicide\n      category: health\n      phrases:\n        - 海の底で眠る + wish\n"})
	// The suicide rule now has two phrases: lists, merged by hand below.
	b, err := os.ReadFile(filepath.Join(dir, "crisis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "      phrases:\n        - 海の底で眠る + wish\n", "", 1)
	rule := strings.Index(s, "- kind: suicide")
	list := rule + strings.Index(s[rule:], "      phrases:\n") + len("      phrases:\n")
	s = s[:list] + "        - 海の底で眠る + wish\n" + s[list:]
	if err := os.WriteFile(filepath.Join(dir, "crisis.yaml"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := flows.LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := changed.Run(conv)
	if r.Passed() {
		t.Fatal("the kept test passes on a flow that now answers differently")
	}
	if !strings.Contains(strings.Join(r.Failures, "\n"), "expected no handoff") {
		t.Errorf("want the new handoff named, got %v", r.Failures)
	}
}

func TestConversationTestRefusesEmptyScripts(t *testing.T) {
	f := mustDefault(t)
	for _, sc := range []Script{
		{Name: "", Turns: []Turn{{Kind: turnSay, Text: "x"}}},
		{Name: "empty"},
		{Name: "bad", Turns: []Turn{{Kind: "wave"}}},
	} {
		if _, err := ConversationTest(f, sc); err == nil {
			t.Errorf("ConversationTest(%+v) should fail", sc)
		}
	}
}

func TestNumbersStandAlone(t *testing.T) {
	f := mustDefault(t)
	tests := []struct {
		reply string
		want  []string
	}{
		{"☎ 119 消防・救急\n☎ 110 警察", []string{"119", "110"}},
		{"#7119 救急相談", nil},
		{"☎ 0570-783-556 いのちの電話", []string{"0570-783-556"}},
		{"電話 1190 番", nil},
	}
	for _, tt := range tests {
		got := numbersIn(f, tt.reply)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("numbersIn(%q) = %v, want %s in it", tt.reply, got, w)
			}
		}
		if slices.Contains(got, "119") && !slices.Contains(tt.want, "119") {
			t.Errorf("numbersIn(%q) = %v: 119 is not there on its own", tt.reply, got)
		}
	}
}

func TestWriteTestNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 3 {
		name, err := writeTest(dir, []byte("tests: []\n# "+string(rune('a'+i))+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	want := []string{"tests/studio-01.yaml", "tests/studio-02.yaml", "tests/studio-03.yaml"}
	if !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "tests", "studio-01.yaml"))
	if err != nil || !strings.Contains(string(b), "# a") {
		t.Errorf("the first file was changed: %q %v", b, err)
	}
}
