package studio

import (
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

func TestStepCrisisGivesNumbersUrgentCaseAndWhy(t *testing.T) {
	f := mustDefault(t)
	res, err := Step(f, StepRequest{Turn: Turn{Kind: turnSay, Text: "もう死にたい"}})
	if err != nil {
		t.Fatal(err)
	}
	var handoff *Item
	numbers := false
	for i, it := range res.Items {
		switch it.Type {
		case "reply":
			numbers = numbers || strings.Contains(it.Text, "☎ 119")
		case "handoff":
			handoff = &res.Items[i]
		}
	}
	if !numbers {
		t.Errorf("want a reply with 119, got %+v", res.Items)
	}
	if handoff == nil || !handoff.Urgent || handoff.Crisis != "suicide" || handoff.Case != "STUDIO-1" {
		t.Errorf("want an urgent suicide handoff as case STUDIO-1, got %+v", handoff)
	}
	if res.Session.Case != "STUDIO-1" || res.Session.State != f.Crisis.Next {
		t.Errorf("session after the crisis: case %q state %q", res.Session.Case, res.Session.State)
	}
	if res.Why == nil || !res.Why.Message.Crisis || res.Why.Message.Kind != "suicide" || len(res.Why.Sentences) == 0 {
		t.Errorf("want the why of a suicide crisis, got %+v", res.Why)
	}
}

// buttons are the quick replies offered: on the last bubble that has them,
// as LINE shows them.
func buttons(items []Item) []Button {
	for i := len(items) - 1; i >= 0; i-- {
		if len(items[i].QuickReplies) > 0 {
			return items[i].QuickReplies
		}
	}
	return nil
}

func TestStepButtonsEventsAndErrors(t *testing.T) {
	f := mustDefault(t)
	first, err := Step(f, StepRequest{Turn: Turn{Kind: turnEvent, Event: "follow"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(buttons(first.Items)) == 0 || first.Why != nil {
		t.Fatalf("follow: want the welcome with buttons and no why, got %+v", first)
	}
	var work Button
	for _, b := range buttons(first.Items) {
		if b.Label == "仕事" {
			work = b
		}
	}
	next, err := Step(f, StepRequest{Session: first.Session, Turn: Turn{Kind: turnChoose, Label: work.Label, Data: work.Data}, Index: 1})
	if err != nil {
		t.Fatal(err)
	}
	if next.Session.State != "ask_who" || next.Why != nil {
		t.Errorf("pressing 仕事: state %q, why %v", next.Session.State, next.Why)
	}
	for _, bad := range []StepRequest{
		{Turn: Turn{Kind: "shout"}},
		{Turn: Turn{Kind: turnEvent}},
		{Turn: Turn{Kind: turnSay, Text: "x"}, At: "yesterday"},
	} {
		if _, err := Step(f, bad); err == nil {
			t.Errorf("Step(%+v) should fail", bad)
		}
	}
}

func TestClockCountsMinutesLikeConversationTests(t *testing.T) {
	tests := []struct {
		at   string
		step int
		want string
	}{
		{"", 0, "2026-11-25T10:00:00+09:00"},
		{"", 3, "2026-11-25T10:03:00+09:00"},
		{"2026-11-28T21:00:00+09:00", 1, "2026-11-28T21:01:00+09:00"},
	}
	for _, tt := range tests {
		got, err := clock(tt.at, tt.step)
		if err != nil {
			t.Fatal(err)
		}
		if got.Format(time.RFC3339) != tt.want {
			t.Errorf("clock(%q, %d) = %s, want %s", tt.at, tt.step, got.Format(time.RFC3339), tt.want)
		}
	}
}

func TestNextCase(t *testing.T) {
	tests := []struct{ prev, want string }{
		{"", "STUDIO-1"},
		{"STUDIO-1", "STUDIO-2"},
		{"STUDIO-9", "STUDIO-10"},
		{"CASE-7", "STUDIO-1"},
		{"STUDIO-x", "STUDIO-1"},
	}
	for _, tt := range tests {
		if got := nextCase(tt.prev); got != tt.want {
			t.Errorf("nextCase(%q) = %q, want %q", tt.prev, got, tt.want)
		}
	}
}

// retriage stands for an action the flows package may add later: the page
// must show it by name, not drop it or fail.
type retriage struct {
	flows.Erase
	Categories []string
}

func TestUnknownActionsAreShownByName(t *testing.T) {
	tests := []struct {
		action     flows.Action
		name, want string
	}{
		{retriage{Categories: []string{"housing"}}, "retriage", `"Categories":["housing"]`},
		{&retriage{}, "retriage", `"Categories":null`},
	}
	for _, tt := range tests {
		it := item(tt.action, flows.Session{})
		if it.Type != "other" || it.Name != tt.name || !strings.Contains(it.Detail, tt.want) {
			t.Errorf("item(%#v) = %+v, want other %s with %s", tt.action, it, tt.name, tt.want)
		}
	}
}
