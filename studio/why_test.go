package studio

import (
	"slices"
	"testing"
)

func TestReasonsTakeTriageApart(t *testing.T) {
	f := mustDefault(t)
	tests := []struct {
		text string
		want Reason
	}{
		{"死にたい", Reason{Type: "crisis", Kind: "suicide", Matched: []string{"die + wish"}}},
		{"昔は死にたいと思ってた", Reason{Type: "check", Kind: "suicide", Matched: []string{"die + wish"}, LoweredBy: "past"}},
		{"母の介護で疲れた", Reason{Type: "category", Category: "elderly", Matched: []string{"介護"}}},
	}
	for _, tt := range tests {
		rs := reasons(f, f.Triage(tt.text).Why)
		if !slices.ContainsFunc(rs, func(r Reason) bool {
			return r.Type == tt.want.Type && r.Kind == tt.want.Kind && r.Category == tt.want.Category &&
				r.LoweredBy == tt.want.LoweredBy && len(r.Matched) > 0 && r.Matched[0] == tt.want.Matched[0]
		}) {
			t.Errorf("%s: want a reason like %+v, got %+v", tt.text, tt.want, rs)
		}
	}
	other := reasons(f, []string{"a line of a new shape", "nocategory: x"})
	for _, r := range other {
		if r.Type != "other" || r.Line == "" {
			t.Errorf("an unknown line must be kept whole as other, got %+v", r)
		}
	}
}

func TestWhyReadsRecentMessagesTogether(t *testing.T) {
	f := mustDefault(t)
	w := explain(f, "もう限界", []string{"夫のことなのですが", "最近は手も出るようになって", "もう限界"})
	if w.Together == nil || len(w.Recent) != 3 {
		t.Fatalf("want the recent messages read together, got %+v", w)
	}
	if !slices.Contains(w.Together.Categories, "violence") {
		t.Errorf("together, the messages point to violence; got %v", w.Together.Categories)
	}
	if alone := explain(f, "こんにちは", []string{"こんにちは"}); alone.Together != nil {
		t.Errorf("one message alone has nothing to read together: %+v", alone.Together)
	}
}
