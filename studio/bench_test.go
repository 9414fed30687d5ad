package studio

import (
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/flows"
)

func TestBenchPlainList(t *testing.T) {
	f := mustDefault(t)
	res, err := Bench(f, "死にたい\n\n# a comment\n母の介護で疲れました\n家賃が払えない\n")
	if err != nil {
		t.Fatal(err)
	}
	if res.Labelled || res.Score != nil || len(res.Rows) != 3 {
		t.Fatalf("want three unlabelled rows, got %+v", res)
	}
	tests := []struct {
		row           int
		line          int
		verdict, kind string
		category      string
	}{
		{0, 1, "crisis", "suicide", "health"},
		{1, 4, "check", "elder_abuse", "elderly"},
		{2, 5, "calm", "", "poverty"},
	}
	for _, tt := range tests {
		r := res.Rows[tt.row]
		if r.Line != tt.line || r.Verdict != tt.verdict || r.Kind != tt.kind || len(r.Categories) == 0 || r.Categories[0] != tt.category || r.Outcome != "" {
			t.Errorf("row %d = %+v, want line %d %s %s first %s", tt.row, r, tt.line, tt.verdict, tt.kind, tt.category)
		}
	}
	if res.Crisis != 1 || res.Check != 1 || res.Calm != 1 {
		t.Errorf("counts: crisis %d check %d calm %d", res.Crisis, res.Check, res.Calm)
	}
}

func TestBenchLabelledScoresAsEvalDoes(t *testing.T) {
	f := mustDefault(t)
	text := "crisis:suicide\t死にたい\ncrisis\t海の底で眠りたい\ncalm\t死ぬほど笑った\ncalm:poverty\t家賃が払えない\ncalm:housing\t母の介護で疲れました\n"
	res, err := Bench(f, text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"caught", "missed", "right", "right", "check_on_calm"}
	for i, r := range res.Rows {
		if r.Outcome != want[i] {
			t.Errorf("row %d (%s): outcome %q, want %q", i, r.Text, r.Outcome, want[i])
		}
	}
	set, err := flows.ParseEvalSet(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Evaluate(set)
	if s := res.Score; s == nil || s.Caught != r.Caught || s.CrisisMessages != 2 || s.Checks != r.Checks || s.Top2 != r.Top2 || s.Summary != r.Summary() {
		t.Errorf("score %+v differs from flows.Evaluate %+v", res.Score, r)
	}
}

func TestBenchRefusesBadLabels(t *testing.T) {
	f := mustDefault(t)
	_, err := Bench(f, "crisis\tok\nmaybe\tnot a label\n")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("want the bad line named, got %v", err)
	}
}
