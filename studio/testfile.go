package studio

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tsunagu-city/tsunagu/flows"
)

// Script is a tried conversation the page asks to keep as a test.
type Script struct {
	// Name is the test's name, as the officer typed it.
	Name string `json:"name"`
	// Locale is the resident's language at the start; empty is the flow's first.
	Locale string `json:"locale,omitempty"`
	// At is when the conversation began (RFC 3339); empty is DefaultClock.
	At    string `json:"at,omitempty"`
	Turns []Turn `json:"turns"`
}

// ConversationTest replays script on f from a new session and writes it as a
// conversation test (docs/flows.md §7) whose expectations are what the flow
// did at each step: where it went, whom it handed to and how urgently,
// whether it asked the safety check, relayed or erased, and the emergency
// numbers it gave. The words of replies are not pinned, so that editing a
// text does not break the test; the numbers are, because a crisis reply
// without them is a failure.
func ConversationTest(f *flows.Flow, sc Script) ([]byte, error) {
	name := strings.TrimSpace(sc.Name)
	if name == "" {
		return nil, errors.New("the test needs a name")
	}
	if len(sc.Turns) == 0 {
		return nil, errors.New("the conversation is empty: say something first")
	}
	at := sc.At
	if at == "" {
		at = DefaultClock
	}
	steps := seq()
	s := flows.Session{Locale: sc.Locale}
	for i, turn := range sc.Turns {
		res, err := Step(f, StepRequest{Session: s, Turn: turn, At: at, Index: i})
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		s = res.Session
		steps.Content = append(steps.Content, expectations(f, turn, res))
	}
	test := mapping()
	add(test, "name", str(name))
	if sc.Locale != "" {
		add(test, "locale", str(sc.Locale))
	}
	add(test, "at", str(at))
	add(test, "steps", steps)
	tests := seq()
	tests.Content = append(tests.Content, test)
	doc := mapping()
	add(doc, "tests", tests)
	doc.HeadComment = "Kept from a conversation tried in tsunagu studio. The expectations are what\n" +
		"the flow did then; edit them freely (docs/flows.md, section 7)."

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write the test: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write the test: %w", err)
	}
	return b.Bytes(), nil
}

// expectations is one step of the test: what the resident did and what
// the flow did in answer.
func expectations(f *flows.Flow, turn Turn, res StepResult) *yaml.Node {
	step := mapping()
	switch turn.Kind {
	case turnSay:
		add(step, "say", str(turn.Text))
	case turnChoose:
		add(step, "choose", str(turn.Label))
	case turnEvent:
		add(step, "event", str(turn.Event))
	}
	var replies strings.Builder
	var handoff *Item
	relayed, erased, checked := false, false, ""
	var unknown []string
	for i, it := range res.Items {
		switch it.Type {
		case "reply":
			replies.WriteString(it.Text + "\n")
		case "handoff":
			handoff = &res.Items[i]
		case "relay":
			relayed = true
		case "erase":
			erased = true
		case "check":
			checked = it.Kind
		case "locale":
		default:
			unknown = append(unknown, it.Name)
		}
	}
	if nums := numbersIn(f, replies.String()); len(nums) > 0 {
		list := seq()
		list.Style = yaml.FlowStyle
		for _, n := range nums {
			list.Content = append(list.Content, str(n))
		}
		add(step, "reply_contains", list)
	}
	if handoff == nil {
		add(step, "handoff", str("none"))
	} else {
		h := mapping()
		h.Style = yaml.FlowStyle
		cats := seq()
		for _, c := range handoff.Categories {
			cats.Content = append(cats.Content, str(c))
		}
		add(h, "categories", cats)
		add(h, "urgent", boolean(handoff.Urgent))
		add(step, "handoff", h)
	}
	if checked == "" {
		add(step, "check", str("none"))
	} else {
		add(step, "check", str(checked))
	}
	if relayed {
		add(step, "relay", boolean(true))
	}
	if erased {
		add(step, "erase", boolean(true))
	}
	add(step, "state", str(res.Session.State))
	if len(unknown) > 0 {
		step.Content[0].HeadComment = "also done, which a test cannot check yet: " + strings.Join(unknown, ", ")
	}
	return step
}

// numbersIn are the flow's emergency numbers that reply gives, in the
// flow's order. A number counts only standing alone, so 119 is not found
// inside #7119.
func numbersIn(f *flows.Flow, reply string) []string {
	var out []string
	for _, n := range f.Crisis.Numbers {
		if n.Number == "" {
			continue
		}
		re := regexp.MustCompile(`(^|[^0-9#\-])` + regexp.QuoteMeta(n.Number) + `($|[^0-9\-])`)
		if re.MatchString(reply) {
			out = append(out, n.Number)
		}
	}
	return out
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func seq() *yaml.Node     { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

// str is a string node, quoted where a YAML reader could take it for
// something else (yes, no, 119, #8891).
func str(s string) *yaml.Node {
	var n yaml.Node
	if err := n.Encode(s); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
	}
	return &n
}
func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}
func add(m *yaml.Node, key string, v *yaml.Node) { m.Content = append(m.Content, str(key), v) }

// testFilePrefix starts the names of the test files the studio writes;
// each kept conversation gets a file of its own, so the studio never
// rewrites a file an officer edited by hand.
const testFilePrefix = "studio-"

// maxTestFiles bounds the search for a free file name.
const maxTestFiles = 10000

// writeTest writes data as a new file in the tests folder of dir, which it
// makes when missing, and returns the file's path inside dir. It writes
// nowhere else: names are made here, and the root keeps them inside dir.
func writeTest(dir string, data []byte) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("open the flow folder: %w", err)
	}
	defer root.Close()
	if err := root.Mkdir(testsDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("make the tests folder: %w", err)
	}
	for n := 1; n <= maxTestFiles; n++ {
		name := path.Join(testsDir, fmt.Sprintf("%s%02d.yaml", testFilePrefix, n))
		file, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
		if _, err := file.Write(data); err != nil {
			file.Close()
			return "", fmt.Errorf("write %s: %w", name, err)
		}
		if err := file.Close(); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("the tests folder already has %d studio files", maxTestFiles)
}
