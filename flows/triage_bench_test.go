package flows

import "testing"

// history is five messages as residents write them: a greeting, a story in
// pieces, dialect, and a long message with the need in the middle.
var history = []string{
	"こんばんは。ちょっと相談があって",
	"母の介護をしてるんですが、最近夜も眠れなくて",
	"仕事も休みがちで、家賃も2ヶ月ためてもうた",
	"長くなってすみません。去年の春に父が亡くなってから、母と二人で暮らしています。母は認知症が進んでいて、昼も夜も目が離せません。兄弟はいないし、親戚とも疎遠で、誰にも頼れない状態です。",
	"もう疲れた、全部どうでもいい",
}

// BenchmarkTriageWithHistory is one step's triage: the new message read and
// the five recent ones read with it, tokenizer included. The target is
// under 0.5 ms per operation on the project's 2-core machine.
func BenchmarkTriageWithHistory(b *testing.B) {
	f := Default()
	msg := "このままだと自分がどうにかなりそうで、消えてしまいたいと思うことがある"
	f.Triage(append(history, msg)...) // warm the tokenizer
	b.ReportAllocs()
	for b.Loop() {
		f.Triage(append(history, msg)...)
	}
}

// BenchmarkTokenizeOnly is the baseline measured in the same run: reading
// the same six messages with the tokenizer alone, without any rule. The
// ratio of the two is what the rules cost.
func BenchmarkTokenizeOnly(b *testing.B) {
	msgs := append(history, "このままだと自分がどうにかなりそうで、消えてしまいたいと思うことがある")
	analyse(msgs[0])
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			analyse(m)
		}
	}
}
