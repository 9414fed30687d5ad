package flows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintFindsEachBreak breaks the mini flow one way at a time and checks
// the linter names the problem, in the right file and line.
func TestLintFindsEachBreak(t *testing.T) {
	base, err := os.ReadFile("testdata/mini/flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lineOf := func(s, sub string) int {
		i := strings.Index(s, sub)
		if i < 0 {
			t.Fatalf("fixture does not contain %q", sub)
		}
		return strings.Count(s[:i], "\n") + 1
	}
	tests := []struct {
		name     string
		old, new string
		want     string // a substring of one problem
		wantAt   string // the problem must be on the line that contains this, in the broken file
	}{
		{"yaml syntax", "start: welcome", "start: [welcome", "YAML syntax error", "start: [welcome"},
		{"unknown key", "    team: 高齢チーム", "    teem: 高齢チーム", `unknown key "teem"`, "teem:"},
		{"wrong type", "    urgent: true\n", "    urgent: sometimes\n", "should be true or false", "urgent: sometimes"},
		{"list expected", "  greetings: [こんにちは, hello, hi]", "  greetings: こんにちは", "should be a list", "greetings: こんにちは"},
		{"missing state", "next: confirm}\n      - {label: {ja: うまく", "next: confrim}\n      - {label: {ja: うまく", `there is no state with that id (did you mean "confirm"?)`, "confrim"},
		{"unreachable state", "    text: {found: confirm, not_found: listen}", "    text: {found: confirm, not_found: person}", `state "listen" cannot be reached`, "- id: listen"},
		{"no human handoff reachable", "    text: {found: confirm, not_found: person}", "    text: {next: listen}", `state "listen" is a dead end`, "- id: listen"},
		{"text missing in a locale", "message: {ja: もう少し教えてください。, en: Tell me a little more.}", "message: {ja: もう少し教えてください。}", `has no "en" text`, "もう少し教えて"},
		{"undeclared locale", "{ja: 削除しました。, en: Deleted.}", "{ja: 削除しました。, en: Deleted., fr: Supprimé.}", `"fr", which is not a declared language`, "Supprimé"},
		{"category without channel", "    channel: \"#isolation\"\n", "", `category "isolation" has no Slack channel`, "- id: isolation"},
		{"no crisis rules", "  rules:\n    - kind: suicide", "  old_rules:\n    - kind: suicide", "no crisis rules", ""},
		{"duplicate state id", "  - id: listen\n", "  - id: welcome\n", `two states are called "welcome"`, "- id: welcome\n    message: {ja: もう少し"},
		{"duplicate category id", "  - id: isolation\n", "  - id: elderly\n", `two categories are called "elderly"`, "- id: elderly\n    name: {ja: ひきこもり"},
		{"free text dead end", "    text: {next: person}\n", "", `state "confirm" says nothing about free text`, "- id: confirm"},
		{"label too long", "{ja: うまく言えない, en: Hard to say}", "{ja: うまく言えない, en: It is hard to say what it is}", "LINE allows at most 20", "It is hard to say"},
		{"label too long as LINE counts", "{ja: うまく言えない, en: Hard to say}", "{ja: うまく言えない, en: \"Hard to say 😢😢😢😢😢\"}", "LINE allows at most 20", "Hard to say 😢"},
		{"button does nothing", "{label: {ja: はい, en: \"Yes\"}, next: person}", "{label: {ja: はい, en: \"Yes\"}}", "does nothing", "ja: はい"},
		{"crisis next not urgent", "    handoff: {category: general, urgent: true}", "    handoff: {category: general}", "not an urgent handoff state", "  next: urgent"},
		{"unknown crisis number", "numbers: [\"119\"]\n", "numbers: [\"911\"]\n", `number "911", which is not in`, "- kind: violence"},
		{"human intent not a handoff", "human: {phrases: [人と話したい, talk to a person], next: person}", "human: {phrases: [人と話したい, talk to a person], next: listen}", "not a handoff state", "human:"},
		{"missing fixed text", "  checkin: {ja: その後いかがですか。, en: \"How are you doing?\"}\n", "", "texts.checkin is missing", ""},
		{"unknown fixed text", "  checkin:", "  chekin:", "texts.chekin is not a text tsunagu uses", "chekin"},
		{"bad hours", `mon: ["08:30-17:15"]`, `mon: ["17:15-08:30"]`, "is not a span like 08:30-17:15", ""},
		{"wrong version", "version: 1", "version: 2", "version 2 is not supported", "version: 2"},
		// listen still reaches a person by its buttons, but words loop on it
		{"free text loops", "    text: {found: confirm, not_found: person}", "    quick_replies: [{label: {ja: 人, en: Person}, next: person}]\n    text: {found: confirm, not_found: listen}", "only writes words that match nothing never reaches a person from state \"welcome\": welcome → listen → listen", "text: {found: confirm, not_found: listen}\n  - id: confirm"},
		{"first button loops", "      - {label: {ja: 介護, en: Care}, category: elderly, next: confirm}", "      - {label: {ja: 介護, en: Care}, category: elderly}", "only presses the first button never reaches a person from state \"welcome\": welcome → welcome", "label: {ja: 介護, en: Care}, category: elderly}"},
		{"bad phrase in a combination", "  greetings: [こんにちは, hello, hi]", "  greetings: [こんにちは, hello, \"hi +\"]", "ends with an operator", "greetings:"},
		{"unknown placeholder", "  checkin: {ja: その後いかがですか。,", "  checkin: {ja: \"その後いかがですか。{nextopen}\",", "has {nextopen}, which tsunagu does not fill", "{nextopen}"},
		{"number cut as a comment", "  checkin: {ja: その後いかがですか。, en: \"How are you doing?\"}", "  checkin:\n    ja: 子どもの急病は #8000 へ\n    en: \"How are you doing?\"", `is cut at " #8000 へ"`, "ja: 子どもの急病は"},
		{"unknown concept", "  greetings: [こんにちは, hello, hi]", "  greetings: [こんにちは, hello, \"@hullo\"]", `there is no concept called "hullo"`, "greetings:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(base), tt.old) {
				t.Fatalf("fixture does not contain %q", tt.old)
			}
			broken := strings.Replace(string(base), tt.old, tt.new, 1)
			dir := t.TempDir()
			file := filepath.Join(dir, "flow.yaml")
			if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPath(dir)
			ps, ok := err.(Problems)
			if !ok {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, p := range ps {
				if !strings.Contains(p.Message, tt.want) {
					continue
				}
				if p.Pos.File != file {
					t.Errorf("problem names file %q, want %q", p.Pos.File, file)
				}
				if tt.wantAt != "" {
					if want := lineOf(broken, tt.wantAt); p.Pos.Line != want && !(tt.name == "yaml syntax" && p.Pos.Line >= want-1 && p.Pos.Line <= want+1) {
						t.Errorf("problem at line %d, want %d: %s", p.Pos.Line, want, p)
					}
				}
				if !strings.HasPrefix(p.String(), file+":") {
					t.Errorf("problem does not start with file:line:col: %s", p)
				}
				return
			}
			t.Fatalf("no problem contains %q; got:\n%v", tt.want, err)
		})
	}
}

func TestLintAcceptsMini(t *testing.T) {
	if _, err := LoadPath("testdata/mini"); err != nil {
		t.Fatalf("mini flow has problems:\n%v", err)
	}
}

func TestDuplicateKeyAcrossFiles(t *testing.T) {
	base, err := os.ReadFile("testdata/mini/flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), base, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("version: 1\nstart: listen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPath(dir)
	if err == nil || !strings.Contains(err.Error(), `"start" is already set in`) || !strings.Contains(err.Error(), "b.yaml:2:1") {
		t.Fatalf("want a duplicate start in b.yaml:2:1, got %v", err)
	}
}
