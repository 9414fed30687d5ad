package flows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

// TestDefaultConversations runs the default flow's conversation tests, one
// subtest each, so a failure names the conversation and its steps.
func TestDefaultConversations(t *testing.T) {
	f, err := flows.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	fsys := flows.DefaultTests()
	names, err := flows.ConversationFiles(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	convs, err := flows.LoadConversations(fsys, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) < 100 {
		t.Fatalf("only %d conversations in the default tests; files missing?", len(convs))
	}
	for _, c := range convs {
		t.Run(fmt.Sprintf("%s:%d", c.Pos.File, c.Pos.Line), func(t *testing.T) {
			r := f.Run(c)
			if !r.Passed() {
				t.Errorf("%s:\n  %s", r.Name, strings.Join(r.Failures, "\n  "))
			}
		})
	}
}
