package studio

import (
	"errors"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Each broken flow must give problems the studio can say in Japanese: if
// the linter's sentences change, this test says which one to translate.
func TestProblemsInJapanese(t *testing.T) {
	tests := []struct {
		name   string
		change change
		// want is in the Japanese of one of the problems.
		want string
	}{
		{"misspelt state", change{"states.yaml", "next: ask_who\n", "next: ask_whoo\n"}, "「ask_whoo」という状態はありません（「ask_who」のまちがいでは"},
		{"YAML syntax", change{"states.yaml", "  - id: welcome\n", "  - id: welcome\n   broken: [\n"}, "YAML の書き方がまちがっています"},
		{"missing language", change{"states.yaml", "en: Who is this about?", "fr: Who is this about?"}, "状態「ask_who」のメッセージに「en」の文がありません"},
		{"label too long", change{"states.yaml", "en: Elderly care}", "en: Care for older family members and more}"}, "LINE のボタンは 20 文字まで"},
		{"unknown key", change{"states.yaml", "  - id: welcome\n", "  - id: welcome\n    mesage: {ja: x}\n"}, "「mesage」は states[0] に書けないキー"},
		{"no channel", change{"categories.yaml", "    channel: \"#soudan-elderly\"\n", ""}, "Slack チャンネルがありません"},
		{"no version", change{"texts.yaml", "version: 1\n", ""}, "「version: 1」の行がありません"},
		{"fragment", change{"crisis.yaml", "      phrases:\n", "      phrases:\n        - 殴られ\n"}, "言葉の途中で切れています"},
		{"unknown concept", change{"crisis.yaml", "      phrases:\n", "      phrases:\n        - \"@diee + wish\"\n"}, "という考え方（concept）はありません"},
		{"unreachable state", change{"states.yaml", "", "  - id: lonely\n    message: {ja: a, easy-ja: a, en: a}\n    text: {next: handoff}\n"}, "状態「lonely」には、最初の状態「welcome」から"},
		{"not a text", change{"texts.yaml", "version: 1\n", "version: 1\nname: [a]\n"}, "name は、文にしてください"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := flowWith(t, tt.change)
			_, err := flows.LoadPath(dir)
			var ps flows.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("the flow loads without problems (%v); the change did not break it", err)
			}
			found := false
			for _, p := range ps {
				ja := japanese(p.Message)
				if ja == "" {
					t.Errorf("no Japanese for %q", p.Message)
				}
				found = found || strings.Contains(ja, tt.want)
			}
			if !found {
				t.Errorf("no problem says %q in Japanese; the problems were:\n%v", tt.want, ps)
			}
		})
	}
}

func TestJapaneseSubjectsAndHints(t *testing.T) {
	tests := []struct{ msg, want string }{
		{`state "welcome" button 4 label has a text in "living costs", which is not a declared language (ja, easy-ja, en)`,
			"状態「welcome」のボタン 4 の文字に「living costs」という言語の文があります"},
		{`texts.delete_done has no "en" text: every text must exist in every declared language`,
			"決まった文 texts.delete_done に「en」の文がありません"},
		{`start: there is no state called "welcom" (did you mean "welcome"?)`, "start: の「welcom」という状態はありません（「welcome」のまちがいではありませんか？）"},
		{`start: there is no state called "x"`, "start: の「x」という状態はありません。"},
		{`something the studio has never seen`, ""},
	}
	for _, tt := range tests {
		if got := japanese(tt.msg); got != tt.want && !strings.HasPrefix(got, tt.want) || tt.want == "" && got != "" {
			t.Errorf("japanese(%q) = %q, want it to start with %q", tt.msg, got, tt.want)
		}
	}
}
