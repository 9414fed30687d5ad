package studio

import (
	"slices"
	"testing"
)

func TestStateTextsMarkMissingLanguages(t *testing.T) {
	dir := flowWith(t, change{"states.yaml", "en: Thank you. Who is this about?", "fr: Who is this about?"})
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sn := st.snap()
	if sn.runnable() != nil || len(sn.Problems) == 0 || sn.Flow == nil {
		t.Fatalf("a flow with a missing text must be shown, not run: %+v", sn)
	}
	views := stateViews(sn.Flow, st.rel)
	i := slices.IndexFunc(views, func(v StateView) bool { return v.ID == "ask_who" })
	if i < 0 {
		t.Fatal("no ask_who state")
	}
	msg := views[i].Texts[0]
	if msg.What != "message" || !slices.Equal(msg.Missing, []string{"en"}) || msg.ByLocale["ja"] == "" || msg.File != "states.yaml" || msg.Line == 0 {
		t.Errorf("ask_who's message = %+v, want en missing, ja there, and where it is written", msg)
	}
	if b := views[i].Texts[1]; b.What != "button" || b.Button != 1 || b.Next != "ask_urgency" || len(b.Missing) != 0 {
		t.Errorf("ask_who's first button = %+v", b)
	}
	welcome := views[slices.IndexFunc(views, func(v StateView) bool { return v.ID == "welcome" })]
	if !welcome.Start || welcome.TextFound != "confirm" || welcome.TextNotFound != "listen" {
		t.Errorf("welcome = %+v", welcome)
	}
}
