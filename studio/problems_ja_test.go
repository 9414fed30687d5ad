package studio

import (
	"errors"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Each broken flow must give problems the studio shows in Japanese (the
// flows package's catalogue, which its own test keeps complete).
func TestProblemsInJapanese(t *testing.T) {
	tests := []struct {
		name   string
		change change
		// want is in the Japanese of one of the problems.
		want string
	}{
		{"misspelt state", change{"states.yaml", "next: ask_who\n", "next: ask_whoo\n"}, "「ask_whoo」という状態がありません（「ask_who」のまちがいでは"},
		{"YAML syntax", change{"states.yaml", "  - id: welcome\n", "  - id: welcome\n   broken: [\n"}, "YAML の書き方の誤り"},
		{"missing language", change{"states.yaml", "en: Thank you. Who is this about?", "fr: Who is this about?"}, "状態「ask_who」メッセージに「en」の文がありません"},
		{"label too long", change{"states.yaml", "en: Elderly care}", "en: Care for older family members and more}"}, "LINE では 20 文字までです"},
		{"unknown key", change{"states.yaml", "  - id: welcome\n", "  - id: welcome\n    mesage: {ja: x}\n"}, "知らないキー「mesage」"},
		{"no channel", change{"categories.yaml", "    channel: \"#soudan-elderly\"\n", ""}, "Slack チャンネルがありません"},
		{"no version", change{"texts.yaml", "version: 1\n", ""}, "\"version: 1\" の行がありません"},
		{"fragment", change{"crisis.yaml", "      phrases:\n", "      phrases:\n        - 殴られ\n"}, "言葉の途中で切れています"},
		{"unknown concept", change{"crisis.yaml", "      phrases:\n", "      phrases:\n        - \"@diee + wish\"\n"}, "「diee」という考え方がありません"},
		{"unreachable state", change{"states.yaml", "", "  - id: lonely\n    message: {ja: a, easy-ja: a, en: a}\n    text: {next: handoff}\n"}, "状態「lonely」にはたどり着けません"},
		{"not a text", change{"texts.yaml", "version: 1\n", "version: 1\nname: [a]\n"}, "name は文にします"},
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
			for _, v := range (&Studio{}).problemViews(ps, "") {
				if v.MessageJa == "" {
					t.Errorf("no Japanese for %q", v.Message)
				}
				found = found || strings.Contains(v.MessageJa, tt.want)
			}
			if !found {
				var says []string
				for _, v := range (&Studio{}).problemViews(ps, "") {
					says = append(says, v.MessageJa)
				}
				t.Errorf("no problem says %q in Japanese; they say:\n%s", tt.want, strings.Join(says, "\n"))
			}
		})
	}
}
