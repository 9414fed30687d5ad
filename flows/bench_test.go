package flows

import "testing"

// BenchmarkStep measures one resident message through the default flow,
// from a new session to the first answer, the common path of a worker.
func BenchmarkStep(b *testing.B) {
	f := Default()
	in := Input{Kind: InputText, Text: "母の介護のことで相談したいのですが、最近は夜も眠れなくて", Now: weekday10}
	b.ReportAllocs()
	for b.Loop() {
		f.Step(Session{}, in)
	}
}

// BenchmarkTriage measures triage alone on a five-message history, the most
// a session keeps.
func BenchmarkTriage(b *testing.B) {
	f := Default()
	texts := []string{"こんにちは", "夫のことなのですが、", "最近は手も出るようになって", "子どももいます", "お金もなくて"}
	b.ReportAllocs()
	for b.Loop() {
		f.Triage(texts...)
	}
}
