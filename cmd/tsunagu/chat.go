package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tsunagu-city/tsunagu/flows"
)

// chatOutput is one line of `chat --json`: one action of the flow.
type chatOutput struct {
	Type         string   `json:"type"`
	Text         string   `json:"text,omitempty"`
	QuickReplies []string `json:"quick_replies,omitempty"`
	Case         string   `json:"case,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	Urgent       *bool    `json:"urgent,omitempty"`
	Crisis       string   `json:"crisis,omitempty"`
	Compound     bool     `json:"compound,omitempty"`
	Patterns     []string `json:"patterns,omitempty"`
	Reopen       string   `json:"reopen,omitempty"`
	Locale       string   `json:"locale,omitempty"`
	// Kind is the crisis kind a safety check asks about.
	Kind string `json:"kind,omitempty"`
	// Checked is the answer to the safety check asked before a handoff.
	Checked string `json:"checked,omitempty"`
}

// chat plays the shell's part for one resident in the terminal: an
// in-memory session, and handoffs printed instead of posted to Slack.
type chat struct {
	flow    *flows.Flow
	session flows.Session
	cases   int
	json    *json.Encoder
	out     io.Writer
	now     func() time.Time
}

func runChat(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("chat", flag.ContinueOnError)
	fset.SetOutput(stderr)
	path := fset.String("flow", "", "flow file or folder (default: the embedded flow)")
	lang := fset.String("lang", "", "the resident's language: ja, easy-ja or en (default: the flow's first)")
	asJSON := fset.Bool("json", false, "print one JSON object per action instead of text")
	at := fset.String("at", "", "run on a fixed clock from this time (RFC 3339, e.g. 2026-11-25T02:00:00+09:00), one second per message; default: the real clock")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	now := time.Now
	if *at != "" {
		start, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "chat: --at %q is not a time like 2026-11-25T02:00:00+09:00\n", *at)
			return 2
		}
		// A fixed clock makes a transcript repeatable (greetings and
		// opening hours follow the clock); each message is a second later.
		n := 0
		now = func() time.Time {
			n++
			return start.Add(time.Duration(n-1) * time.Second)
		}
	}
	f, err := loadFlow(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *lang != "" && !knownLocale(f, *lang) {
		fmt.Fprintf(stderr, "chat: the flow does not speak %q (it speaks %s)\n", *lang, localeList(f))
		return 2
	}
	c := &chat{flow: f, session: flows.Session{Locale: *lang}, out: stdout, now: now}
	if *asJSON {
		c.json = json.NewEncoder(stdout)
		c.json.SetEscapeHTML(false)
	}
	interactive := false
	if file, ok := stdin.(*os.File); ok && term.IsTerminal(int(file.Fd())) && !*asJSON {
		interactive = true
		fmt.Fprintf(stdout, "tsunagu chat — you are the resident. Type a message; type a button's label to press it; Ctrl-D to quit.\n\n")
	}
	sc := newLineScanner(stdin)
	for {
		if interactive {
			fmt.Fprint(stdout, "you> ")
		}
		if !sc.Scan() {
			break
		}
		if err := c.say(sc.Text()); err != nil {
			fmt.Fprintln(stderr, "chat:", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "chat: read input:", err)
		return 1
	}
	return 0
}

func knownLocale(f *flows.Flow, id string) bool {
	for _, l := range f.Locales {
		if l.ID == id {
			return true
		}
	}
	return false
}

func localeList(f *flows.Flow) string {
	ids := make([]string, len(f.Locales))
	for i, l := range f.Locales {
		ids[i] = l.ID
	}
	return strings.Join(ids, ", ")
}

// say runs one resident line through the flow and prints every action.
func (c *chat) say(line string) error {
	next, actions := c.flow.Step(c.session, flows.Input{Kind: flows.InputText, Text: line, Now: c.now()})
	c.session = next
	for _, a := range actions {
		if err := c.print(a); err != nil {
			return err
		}
	}
	return nil
}

func (c *chat) print(a flows.Action) error {
	var o chatOutput
	switch a := a.(type) {
	case flows.Reply:
		o = chatOutput{Type: "reply", Text: a.Text}
		for _, q := range a.QuickReplies {
			o.QuickReplies = append(o.QuickReplies, q.Label)
		}
	case flows.Handoff:
		if c.session.Case == "" {
			c.cases++
			c.session.Case = fmt.Sprintf("CHAT-%d", c.cases)
		}
		urgent := a.Urgent
		o = chatOutput{Type: "handoff", Case: c.session.Case, Categories: a.Categories, Urgent: &urgent,
			Crisis: a.Crisis, Compound: a.Compound, Patterns: a.Patterns, Reopen: a.Reopen, Checked: a.Checked}
	case flows.Relay:
		o = chatOutput{Type: "relay", Case: a.Case, Text: a.Text}
	case flows.Check:
		o = chatOutput{Type: "check", Kind: a.Kind}
	case flows.Erase:
		o = chatOutput{Type: "erase"}
	case flows.SetLocale:
		o = chatOutput{Type: "locale", Locale: a.Locale}
	case flows.Retriage:
		o = chatOutput{Type: "retriage", Case: a.Case, Categories: a.Categories}
	default:
		return fmt.Errorf("unknown action %T", a)
	}
	if c.json != nil {
		return c.json.Encode(o)
	}
	_, err := io.WriteString(c.out, renderText(o))
	return err
}

// renderText is how an action looks to a person trying the flow.
func renderText(o chatOutput) string {
	switch o.Type {
	case "reply":
		var b strings.Builder
		for i, line := range strings.Split(o.Text, "\n") {
			switch {
			case i == 0:
				b.WriteString("bot> " + line + "\n")
			case line == "":
				b.WriteString("\n")
			default:
				b.WriteString("     " + line + "\n")
			}
		}
		if len(o.QuickReplies) > 0 {
			b.WriteString("     [" + strings.Join(o.QuickReplies, "] [") + "]\n")
		}
		return b.String()
	case "handoff":
		kind := "handoff"
		if *o.Urgent {
			kind = "URGENT handoff"
		}
		extra := ""
		if o.Crisis != "" {
			extra += ", crisis: " + o.Crisis
		}
		if o.Compound {
			extra += ", compound"
			if len(o.Patterns) > 0 {
				extra += " (" + strings.Join(o.Patterns, ", ") + ")"
			}
		}
		if o.Reopen != "" {
			extra += ", follows case " + o.Reopen
		}
		if o.Checked != "" {
			extra += ", safety check answered " + o.Checked
		}
		return fmt.Sprintf("  ⇒ %s: case %s to %s%s\n", kind, o.Case, strings.Join(o.Categories, ", "), extra)
	case "relay":
		return fmt.Sprintf("  ⇒ relayed to staff in case %s\n", o.Case)
	case "check":
		return fmt.Sprintf("  ⇒ safety check asked (%s)\n", o.Kind)
	case "erase":
		return "  ⇒ all data about you erased\n"
	case "locale":
		return fmt.Sprintf("  ⇒ language: %s\n", o.Locale)
	case "retriage":
		return fmt.Sprintf("  ⇒ suggested to staff in case %s: %s\n", o.Case, strings.Join(o.Categories, ", "))
	}
	return ""
}
