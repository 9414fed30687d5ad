package richmenu

import (
	"strings"
	"testing"
	"time"

	"github.com/tsunagu-city/tsunagu/flows"
)

// The default menu's buttons send words the default flow answers as their
// labels promise, whatever the resident was doing: a first contact, or a
// case already with a person. (flows/default/tests/richmenu.yaml says the
// same in the administrators' words; this test ties it to richmenu.yaml, so
// an edit of either is caught.)
func TestDefaultMenuButtonsDoWhatTheySay(t *testing.T) {
	m, err := Load(flows.DefaultFiles(), FileName, FileName)
	if err != nil {
		t.Fatal(err)
	}
	f := flows.Default()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))
	promise := map[string]func(flows.Session, []flows.Action) string{
		"相談する": func(s flows.Session, acts []flows.Action) string {
			if !strings.Contains(replies(acts), "どんなことで、お困りですか") && !s.HandedOff {
				return "does not ask what the trouble is"
			}
			return ""
		},
		"緊急のとき": func(_ flows.Session, acts []flows.Action) string {
			for _, n := range []string{"119", "110", "0120-279-338"} {
				if !strings.Contains(replies(acts), n) {
					return "does not show " + n
				}
			}
			return ""
		},
		"使い方": func(_ flows.Session, acts []flows.Action) string {
			if r := replies(acts); !strings.Contains(r, "人と話したい") || !strings.Contains(r, "削除") {
				return "does not explain how to reach a person and how to delete"
			}
			return ""
		},
		"データを消す": func(s flows.Session, _ []flows.Action) string {
			if s.State != "delete_confirm" {
				return "does not ask to confirm a deletion (state " + s.State + ")"
			}
			return ""
		},
	}
	starts := map[string]flows.Session{"first contact": {}}
	handed, _ := f.Step(flows.Session{}, flows.Input{Kind: flows.InputText, Text: "人と話したい", Now: now})
	if !handed.HandedOff {
		t.Fatal("人と話したい did not reach a person")
	}
	starts["with a person"] = handed
	for _, a := range m.Areas {
		check := promise[a.Label]
		if check == nil {
			t.Errorf("button %q: no promise to test; add one here", a.Label)
			continue
		}
		if a.Message == "" {
			t.Errorf("button %q sends no words: the default flow reads words, not postbacks", a.Label)
			continue
		}
		for name, s := range starts {
			next, acts := f.Step(s, flows.Input{Kind: flows.InputText, Text: a.Message, Now: now})
			if why := check(next, acts); why != "" {
				t.Errorf("button %q (%q), %s: %s; replies:\n%s", a.Label, a.Message, name, why, replies(acts))
			}
			for _, act := range acts {
				if h, ok := act.(flows.Handoff); ok && a.Label != "相談する" {
					t.Errorf("button %q opened a case (%v): a menu tap is not a need", a.Label, h.Categories)
				}
			}
		}
	}
}

func replies(acts []flows.Action) string {
	var b strings.Builder
	for _, a := range acts {
		if r, ok := a.(flows.Reply); ok {
			b.WriteString(r.Text + "\n")
		}
	}
	return b.String()
}
