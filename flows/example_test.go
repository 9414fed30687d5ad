package flows_test

import (
	"fmt"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// The shell's loop: load the session, Step, do the actions, store the session.
func ExampleFlow_Step() {
	f := flows.Default()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))
	var s flows.Session
	for _, text := range []string{"こんにちは", "人と話したい"} {
		var actions []flows.Action
		s, actions = f.Step(s, flows.Input{Kind: flows.InputText, Text: text, Now: now})
		for _, a := range actions {
			switch a := a.(type) {
			case flows.Reply:
				fmt.Println("reply with", len(a.QuickReplies), "buttons")
			case flows.Handoff:
				fmt.Println("handoff to", a.Categories, "urgent:", a.Urgent)
				s.Case = "K-0001" // the shell opens the case and remembers it
			}
		}
	}
	// Output:
	// reply with 0 buttons
	// reply with 13 buttons
	// reply with 0 buttons
	// handoff to [general] urgent: false
}

func ExampleFlow_Triage() {
	r := flows.Default().Triage("80代の母と、ひきこもりの息子のことで")
	fmt.Println(r.Categories[:2], r.Compound, r.Crisis)
	// Output: [elderly isolation] true false
}
