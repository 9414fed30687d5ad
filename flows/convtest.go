package flows

import (
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConversationFile is a file of conversation tests, as administrators write them.
type ConversationFile struct {
	Tests []Conversation `yaml:"tests"`
}

// Conversation is one scripted conversation and what must happen at each step.
type Conversation struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Locale is the resident's starting language; empty means the flow's default.
	Locale string `yaml:"locale"`
	// At is the clock for the whole conversation (RFC 3339); empty means a weekday at 10:00 in Tokyo.
	At    string `yaml:"at"`
	Steps []Turn `yaml:"steps"`
}

// Turn is one thing the resident does and the expectations on the answer.
type Turn struct {
	Pos Pos `yaml:"-"`
	// Say is free text; Choose presses the button with this label; Event is follow, sticker, case_closed…
	Say    *string `yaml:"say"`
	Choose string  `yaml:"choose"`
	Event  string  `yaml:"event"`

	ReplyContains    []string `yaml:"reply_contains"`
	ReplyNotContains []string `yaml:"reply_not_contains"`
	// Handoff is "none", or the categories that must come first and the urgency.
	Handoff *HandoffExpect `yaml:"handoff"`
	Relay   *bool          `yaml:"relay"`
	Erase   *bool          `yaml:"erase"`
	State   string         `yaml:"state"`
	// Check is the crisis kind the safety check must ask about, or "none".
	Check string `yaml:"check"`
	// Bubbles is how many LINE messages the answer must be; "bubbles: 0"
	// checks that nothing is said.
	Bubbles *int `yaml:"bubbles"`
	// Retriage is the categories that must be suggested to staff; an empty
	// list checks that none are.
	Retriage *[]string `yaml:"retriage"`
}

// HandoffExpect is what a step's handoff must be; None means no handoff at all.
type HandoffExpect struct {
	None       bool
	Categories []string `yaml:"categories"`
	Urgent     *bool    `yaml:"urgent"`
	// Checked is the safety check's answer the case carries: yes, unsure,
	// no or unanswered.
	Checked string `yaml:"checked"`
	// Crisis is the crisis kind the case is opened or escalated for.
	Crisis string `yaml:"crisis"`
}

// ConversationResult is the outcome of one conversation test.
type ConversationResult struct {
	File     string
	Name     string
	Pos      Pos
	Failures []string

	// failures keep each failure's step, line, format and arguments, to be
	// said in another language (FailuresIn).
	failures []failure
}

type failure struct {
	step, line int
	format     string
	args       []any
}

// FailuresIn says the failures in a language: "ja" in Japanese, anything
// else in English.
func (r ConversationResult) FailuresIn(lang string) []string {
	if !strings.HasPrefix(lang, "ja") {
		return r.Failures
	}
	out := make([]string, len(r.failures))
	for i, f := range r.failures {
		format := f.format
		if ja, ok := testFailuresJA[format]; ok {
			format = ja
		}
		msg := fmt.Sprintf(format, f.args...)
		if f.step > 0 {
			msg = fmt.Sprintf("%d 番目（%d 行目）：%s", f.step, f.line, msg)
		}
		out[i] = msg
	}
	return out
}

// testFailuresJA are the conversation test failures in Japanese.
var testFailuresJA = map[string]string{
	"at: %q is not a time like 2026-11-25T10:00:00+09:00":      "at: %q は 2026-11-25T10:00:00+09:00 のような時刻になっていません",
	"there is no button %q in state %q":                        "状態 %[2]q にボタン %[1]q はありません",
	"the reply should contain %q but was:\n%s":                 "返事に %q が入っていません。返事：\n%s",
	"the reply should not contain %q but was:\n%s":             "返事に %q が入っていてはいけません。返事：\n%s",
	"expected no handoff, got one to %v":                       "相談員につながないはずが、%v につなぎました",
	"expected a handoff to %v, got none":                       "%v につなぐはずが、つなぎませんでした",
	"expected a handoff to %v first, got %v":                   "%v を先頭につなぐはずが、%v でした",
	"expected urgent: %v, got %v":                              "急ぎ（urgent）は %v のはずが、%v でした",
	"expected a crisis of kind %q, got %q":                     "危機の種類は %q のはずが、%q でした",
	"expected the case to carry the check answered %q, got %q": "ケースの安全の確認の答えは %q のはずが、%q でした",
	"expected relay: %v, got %v":                               "相談員に届ける（relay）は %v のはずが、%v でした",
	"expected erase: %v, got %v":                               "記録を消す（erase）は %v のはずが、%v でした",
	"expected no safety check, got one about %s":               "安全の確認はしないはずが、%s について尋ねました",
	"expected a safety check about %s, got none":               "%s について安全の確認をするはずが、しませんでした",
	"expected a safety check about %s, got one about %s":       "%s について安全の確認をするはずが、%s について尋ねました",
	"expected %d bubbles, got %d:\n%s":                         "吹き出しは %d 個のはずが、%d 個でした：\n%s",
	"expected %v suggested to staff, got %v":                   "相談員に %v を提案するはずが、%v でした",
	"expected state %q, got %q":                                "状態は %q のはずが、%q でした",
}

// Passed reports whether every expectation held.
func (r ConversationResult) Passed() bool { return len(r.Failures) == 0 }

// defaultTestClock is a Wednesday morning in Tokyo, inside usual office hours.
var defaultTestClock = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

// LoadConversations reads conversation test files; problems carry file:line:col.
func LoadConversations(fsys fs.FS, names []string) ([]Conversation, error) {
	var problems Problems
	var convs []Conversation
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read conversation tests: %w", err)
		}
		root := parseYAML(name, data, &problems)
		if root == nil {
			continue
		}
		var file ConversationFile
		d := &decoder{file: name, problems: &problems}
		d.decodeStruct(root, reflect.ValueOf(&file).Elem(), "")
		convs = append(convs, file.Tests...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return convs, nil
}

// ConversationFiles lists the .yaml files under root in fsys, sorted.
func ConversationFiles(fsys fs.FS, root string) ([]string, error) {
	var names []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			names = append(names, p)
		}
		return nil
	})
	slices.Sort(names)
	return names, err
}

// UnmarshalYAML lets "handoff: none" stand for "no handoff here".
func (h *HandoffExpect) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "none" {
		h.None = true
		return nil
	}
	type plain HandoffExpect
	return n.Decode((*plain)(h))
}

// Run plays one conversation against the flow. The shell's part is played
// the simplest way: a handoff opens case "TEST-1".
func (f *Flow) Run(c Conversation) ConversationResult {
	res := ConversationResult{File: c.Pos.File, Name: c.Name, Pos: c.Pos}
	now := defaultTestClock
	if c.At != "" {
		t, err := time.Parse(time.RFC3339, c.At)
		if err != nil {
			res.Failures = append(res.Failures, fmt.Sprintf("at: %q is not a time like 2026-11-25T10:00:00+09:00", c.At))
			res.failures = append(res.failures, failure{format: "at: %q is not a time like 2026-11-25T10:00:00+09:00", args: []any{c.At}})
			return res
		}
		now = t
	}
	s := Session{Locale: c.Locale}
	cases := 0
	for i, turn := range c.Steps {
		fail := func(format string, args ...any) {
			res.Failures = append(res.Failures, fmt.Sprintf("step %d (line %d): %s", i+1, turn.Pos.Line, fmt.Sprintf(format, args...)))
			res.failures = append(res.failures, failure{step: i + 1, line: turn.Pos.Line, format: format, args: args})
		}
		in, ok := f.turnInput(s, turn, now)
		if !ok {
			fail("there is no button %q in state %q", turn.Choose, s.State)
			return res
		}
		now = now.Add(time.Minute)
		var acts []Action
		s, acts = f.Step(s, in)
		var reply strings.Builder
		var handoff *Handoff
		var relayed, erased bool
		checked, bubbles := "", 0
		var retriaged []string
		for _, a := range acts {
			switch a := a.(type) {
			case Reply:
				bubbles++
				reply.WriteString(a.Text + "\n")
				for _, q := range a.QuickReplies {
					reply.WriteString("[" + q.Label + "]\n")
				}
			case Handoff:
				handoff = &a
				if s.Case == "" {
					cases++
					s.Case = fmt.Sprintf("TEST-%d", cases)
				}
			case Relay:
				relayed = true
			case Erase:
				erased = true
			case Check:
				checked = a.Kind
			case Retriage:
				retriaged = append(retriaged, a.Categories...)
			}
		}
		got := reply.String()
		for _, want := range turn.ReplyContains {
			if !strings.Contains(got, want) {
				fail("the reply should contain %q but was:\n%s", want, indent(got))
			}
		}
		for _, bad := range turn.ReplyNotContains {
			if strings.Contains(got, bad) {
				fail("the reply should not contain %q but was:\n%s", bad, indent(got))
			}
		}
		if e := turn.Handoff; e != nil {
			switch {
			case e.None && handoff != nil:
				fail("expected no handoff, got one to %v", handoff.Categories)
			case !e.None && handoff == nil:
				fail("expected a handoff to %v, got none", e.Categories)
			case !e.None:
				if len(handoff.Categories) < len(e.Categories) || !slices.Equal(handoff.Categories[:len(e.Categories)], e.Categories) {
					fail("expected a handoff to %v first, got %v", e.Categories, handoff.Categories)
				}
				if e.Urgent != nil && *e.Urgent != handoff.Urgent {
					fail("expected urgent: %v, got %v", *e.Urgent, handoff.Urgent)
				}
				if e.Crisis != "" && e.Crisis != handoff.Crisis {
					fail("expected a crisis of kind %q, got %q", e.Crisis, handoff.Crisis)
				}
				if e.Checked != "" && e.Checked != handoff.Checked {
					fail("expected the case to carry the check answered %q, got %q", e.Checked, handoff.Checked)
				}
			}
		}
		if turn.Relay != nil && *turn.Relay != relayed {
			fail("expected relay: %v, got %v", *turn.Relay, relayed)
		}
		if turn.Erase != nil && *turn.Erase != erased {
			fail("expected erase: %v, got %v", *turn.Erase, erased)
		}
		switch {
		case turn.Check == "none" && checked != "":
			fail("expected no safety check, got one about %s", checked)
		case turn.Check != "" && turn.Check != "none" && turn.Check != checked:
			if checked == "" {
				fail("expected a safety check about %s, got none", turn.Check)
			} else {
				fail("expected a safety check about %s, got one about %s", turn.Check, checked)
			}
		}
		if turn.Bubbles != nil && *turn.Bubbles != bubbles {
			fail("expected %d bubbles, got %d:\n%s", *turn.Bubbles, bubbles, indent(got))
		}
		if turn.Retriage != nil && !slices.Equal(*turn.Retriage, retriaged) && len(*turn.Retriage)+len(retriaged) > 0 {
			fail("expected %v suggested to staff, got %v", *turn.Retriage, retriaged)
		}
		if turn.State != "" && turn.State != s.State {
			fail("expected state %q, got %q", turn.State, s.State)
		}
	}
	return res
}

func (f *Flow) turnInput(s Session, t Turn, now time.Time) (Input, bool) {
	switch {
	case t.Say != nil:
		return Input{Kind: InputText, Text: *t.Say, Now: now}, true
	case t.Event != "":
		return Input{Kind: InputEvent, Event: Event(t.Event), Now: now}, true
	}
	id := s.State
	if _, ok := f.index[id]; !ok {
		id = f.Start
	}
	locale := s.Locale
	if locale == "" {
		locale = f.Locale()
	}
	if s.CheckOpen {
		// The safety check's buttons stand in front of the state's.
		c := f.Crisis.Check
		for _, b := range []struct {
			label  Text
			answer string
		}{{c.Yes, answerYes}, {c.Unsure, answerUnsure}, {c.No, answerNo}} {
			if b.label.In(locale, f.Locale()) == t.Choose {
				return Input{Kind: InputChoice, Text: checkPrefix + b.answer, Now: now}, true
			}
		}
	}
	for i, q := range f.States[f.index[id]].QuickReplies {
		if q.Label.In(locale, f.Locale()) == t.Choose {
			return Input{Kind: InputChoice, Text: id + ":" + fmt.Sprint(i), Now: now}, true
		}
	}
	return Input{}, false
}

func indent(s string) string {
	return "    | " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    | ")
}
