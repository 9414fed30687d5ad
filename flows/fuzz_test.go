package flows

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must report problems,
// never panic, and a flow it accepts must be steppable.
func FuzzLoad(f *testing.F) {
	base, err := os.ReadFile("testdata/mini/flow.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base)
	f.Add([]byte("version: 1\nstates: [{id: a}]\n"))
	f.Add([]byte("version: [\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("states:\n  - id: x\n    text: {next: x}\n    quick_replies: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"flow.yaml": {Data: data}}
		fl, err := Load(fsys, "flow.yaml")
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error is not Problems: %v", err)
			}
			return
		}
		_, acts := fl.Step(Session{}, Input{Kind: InputText, Text: "こんにちは", Now: time.Now()})
		if len(acts) == 0 {
			t.Fatal("accepted flow gave no answer")
		}
	})
}

// FuzzStep sends arbitrary text through the default flow from several
// states: every input gets an answer or reaches a person, and nothing panics.
func FuzzStep(f *testing.F) {
	for _, s := range []string{"", "しにたい", "人と話したい", "削除", "😢", strings.Repeat("あ", 6000), "\x00\xff\xfe", "English", "はい"} {
		f.Add(s, s)
	}
	fl := Default()
	f.Fuzz(func(t *testing.T, first, second string) {
		s, _ := fl.Step(Session{}, Input{Kind: InputText, Text: first, Now: weekday10})
		s, acts := fl.Step(s, Input{Kind: InputText, Text: second, Now: weekday10})
		if len(acts) == 0 {
			t.Fatalf("no answer to %q after %q", second, first)
		}
		if _, ok := fl.index[s.State]; !ok {
			t.Fatalf("left the flow: state %q", s.State)
		}
		if _, err := MarshalSession(s); err != nil {
			t.Fatal(err)
		}
		// Choice data is resident-controlled too (a forged postback).
		s, acts = fl.Step(s, Input{Kind: InputChoice, Text: second, Now: weekday10})
		if len(acts) == 0 {
			t.Fatalf("no answer to choice %q", second)
		}
	})
}
