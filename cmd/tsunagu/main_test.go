package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func chatJSON(t *testing.T, stdin string, args ...string) []chatOutput {
	t.Helper()
	if !slices.Contains(args, "--at") {
		// Replies follow the clock (greetings, hours, lines open now): a
		// fixed weekday morning keeps the tests from depending on when they run.
		args = append(args, "--at", "2026-11-25T10:00:00+09:00")
	}
	code, out, errs := runCmd(t, stdin, append([]string{"chat", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("chat exited %d: %s", code, errs)
	}
	var lines []chatOutput
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var o chatOutput
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		lines = append(lines, o)
	}
	return lines
}

func TestChatCrisisFirstMessage(t *testing.T) {
	// By day: the lines open now include the lifeline (10:00–22:00).
	out := chatJSON(t, "しにたい\n", "--at", "2026-11-25T11:00:00+09:00")
	// Four bubbles (care and the first numbers, the others, what happens
	// now, are you safe), then the handoff.
	if len(out) != 5 || out[0].Type != "reply" || out[4].Type != "handoff" {
		t.Fatalf("want four replies then a handoff, got %+v", out)
	}
	for _, n := range []string{"119", "0570-783-556"} {
		if !strings.Contains(out[0].Text, n) {
			t.Errorf("the first bubble lacks %s: %q", n, out[0].Text)
		}
	}
	if n := len([]rune(out[0].Text)); n > 300 {
		t.Errorf("the first bubble is %d characters", n)
	}
	if out[4].Urgent == nil || !*out[4].Urgent || out[4].Case == "" {
		t.Errorf("handoff not urgent or without case: %+v", out[4])
	}
}

func TestChatAt(t *testing.T) {
	tests := []struct {
		at, greeting string
	}{
		{"2026-11-25T02:00:00+09:00", "こんばんは"},
		{"2026-11-25T10:00:00+09:00", "こんにちは"},
		{"2026-11-25T07:30:00+09:00", "おはようございます"},
	}
	for _, tt := range tests {
		out := chatJSON(t, "相談したいです\n", "--at", tt.at)
		if !strings.HasPrefix(out[0].Text, tt.greeting) {
			t.Errorf("--at %s: first bubble %q, want it to start with %s", tt.at, out[0].Text, tt.greeting)
		}
		again := chatJSON(t, "相談したいです\n", "--at", tt.at)
		if !slices.EqualFunc(out, again, func(a, b chatOutput) bool { return a.Text == b.Text && a.Type == b.Type }) {
			t.Errorf("--at %s: two runs differ", tt.at)
		}
	}
	if code, _, errs := runCmd(t, "", "chat", "--at", "yesterday"); code != 2 || !strings.Contains(errs, "RFC") && !strings.Contains(errs, "2026-11-25T02:00:00+09:00") {
		t.Errorf("a bad --at: code %d, %q", code, errs)
	}
}

func TestChatRetriage(t *testing.T) {
	out := chatJSON(t, "人と話したい\n母の介護のことです\n")
	last := out[len(out)-1]
	if last.Type != "retriage" || !slices.Equal(last.Categories, []string{"elderly"}) || last.Case == "" {
		t.Errorf("want a retriage to elderly last, got %+v", out)
	}
	code, text, errs := runCmd(t, "人と話したい\n母の介護のことです\n", "chat", "--at", "2026-11-25T10:00:00+09:00")
	if code != 0 || !strings.Contains(text, "suggested to staff") {
		t.Errorf("text chat: code %d, %q, %q", code, text, errs)
	}
}

func TestChatTalkToAPerson(t *testing.T) {
	for _, in := range []string{"人と話したい\n", "hello\nI want to talk to a person\n", "相談員と話したい\n", "介護\nやっぱり人と話したい\n"} {
		out := chatJSON(t, in)
		if last := out[len(out)-1]; last.Type != "handoff" {
			t.Errorf("%q: last action is %+v, want a handoff", in, last)
		}
	}
}

func TestChatOddInputAlwaysAnswered(t *testing.T) {
	for name, line := range map[string]string{
		"emoji":         "😢🙏",
		"empty":         "",
		"6000 letters":  strings.Repeat("a", 6000),
		"control chars": "\x01\x02\x1b\x7f",
	} {
		t.Run(name, func(t *testing.T) {
			out := chatJSON(t, line+"\n")
			if len(out) == 0 || out[0].Type != "reply" || out[0].Text == "" {
				t.Fatalf("no reply: %+v", out)
			}
		})
	}
}

func TestChatNonsenseNeverDeadEnds(t *testing.T) {
	out := chatJSON(t, "ぽよ\nふが\nほげ\n")
	for _, o := range out {
		if o.Type == "handoff" && o.Categories[0] == "general" {
			return
		}
	}
	t.Fatalf("nonsense did not reach the general team: %+v", out)
}

func TestChatBadLanguage(t *testing.T) {
	code, _, errs := runCmd(t, "", "chat", "--lang", "fr")
	if code != 2 || !strings.Contains(errs, "does not speak") {
		t.Fatalf("code %d stderr %q", code, errs)
	}
}

// flowCopy copies the default flow into a temporary folder, changing file
// name's text with edit.
func flowCopy(t *testing.T, name string, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	src := "../../flows/default"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == name {
			data = []byte(edit(string(data)))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFlowsLint(t *testing.T) {
	t.Setenv("LANG", "C")
	if code, out, errs := runCmd(t, "", "flows", "lint"); code != 0 {
		t.Fatalf("default flow: exit %d\n%s%s", code, out, errs)
	}
	broken := flowCopy(t, "intents.yaml", func(s string) string { return s + "\nbroken: [unclosed\n" })
	code, _, errs := runCmd(t, "", "flows", "lint", broken)
	if code != 1 || !regexp.MustCompile(`intents\.yaml:\d+:\d+: YAML syntax error`).MatchString(errs) {
		t.Fatalf("broken copy: exit %d, stderr %q", code, errs)
	}
	// In Japanese, by flag and by LANG.
	if code, _, errs := runCmd(t, "", "flows", "lint", "--lang", "ja", broken); code != 1 || !strings.Contains(errs, "YAML の書き方の誤り") {
		t.Errorf("--lang ja: exit %d, stderr %q", code, errs)
	}
	t.Setenv("LANG", "ja_JP.UTF-8")
	if code, _, errs := runCmd(t, "", "flows", "lint", broken); code != 1 || !strings.Contains(errs, "YAML の書き方の誤り") {
		t.Errorf("LANG=ja_JP.UTF-8: exit %d, stderr %q", code, errs)
	}
	t.Setenv("LANG", "C")
	// Free text that matches nothing loops on "listen": refused, with the path.
	loops := flowCopy(t, "states.yaml", func(s string) string {
		return strings.Replace(s, "      found: confirm\n      not_found: handoff\n", "      found: confirm\n      not_found: listen\n", 1)
	})
	code, _, errs = runCmd(t, "", "flows", "lint", loops)
	if code != 1 || !strings.Contains(errs, "never reaches a person") || !strings.Contains(errs, "listen → listen") {
		t.Errorf("looping copy: exit %d, stderr %q", code, errs)
	}
	if code, out, help := runCmd(t, "", "flows", "lint", "--help"); code != 0 || !strings.Contains(out+help, "usage: tsunagu flows lint") {
		t.Errorf("--help: exit %d, %q", code, out+help)
	}
}

func TestFlowsTriage(t *testing.T) {
	code, out, errs := runCmd(t, "しにたい\n死ぬほど笑った\n家賃が払えない\n", "flows", "triage")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", out)
	}
	var first, second, third struct {
		Crisis     bool     `json:"crisis"`
		Categories []string `json:"categories"`
	}
	for i, dst := range []any{&first, &second, &third} {
		if err := json.Unmarshal([]byte(lines[i]), dst); err != nil {
			t.Fatal(err)
		}
	}
	if !first.Crisis || second.Crisis || third.Crisis || len(third.Categories) == 0 {
		t.Fatalf("triage output: %q", out)
	}
}

func TestFlowsTestAndGraph(t *testing.T) {
	t.Setenv("LANG", "C")
	code, out, errs := runCmd(t, "", "flows", "test")
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("flows test: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCmd(t, "", "flows", "graph")
	if code != 0 || !strings.HasPrefix(out, "stateDiagram-v2") {
		t.Fatalf("graph: exit %d %q", code, out[:min(len(out), 80)])
	}
	// A failing test, said in Japanese.
	file := filepath.Join(t.TempDir(), "fail.yaml")
	if err := os.WriteFile(file, []byte("tests:\n  - name: wrong on purpose\n    steps:\n      - say: 人と話したい\n        handoff: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCmd(t, "", "flows", "test", "--lang", "ja", file)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "はずが") || !strings.Contains(out, "成功 0、失敗 1") {
		t.Errorf("flows test --lang ja: exit %d\n%s%s", code, out, errs)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, _ := runCmd(t, "", "nope"); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if code, out, _ := runCmd(t, "", "version"); code != 0 || !strings.HasPrefix(out, "tsunagu ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
