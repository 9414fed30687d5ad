package studio

import (
	"regexp"
	"strings"
)

// The linter speaks English (it is also read in terminals and CI logs);
// the studio's reader is a welfare officer, who reads Japanese first. Until
// flows gives each problem a code and its arguments, the studio recognises
// the linter's sentences and says them again in Japanese. A sentence it does
// not know is shown in English, marked as such; the tests break the flow in
// many ways so that a changed sentence is noticed.

// translation turns one linter sentence into Japanese.
type translation struct {
	re *regexp.Regexp
	ja func(m []string) string
}

func tr(pattern string, ja func(m []string) string) translation {
	return translation{re: regexp.MustCompile(`^(?s)` + pattern + `$`), ja: ja}
}

var didYouMeanRe = regexp.MustCompile(`did you mean "([^"]*)"`)

// didYouMean is the Japanese of the linter's " (did you mean "x"?)" hint.
func didYouMean(hint string) string {
	if m := didYouMeanRe.FindStringSubmatch(hint); m != nil {
		return "（「" + m[1] + "」のまちがいではありませんか？）"
	}
	return ""
}

var translations = []translation{
	tr(`YAML syntax error: (.+) \(check the indentation and the quotes around this line\)`, func(m []string) string {
		return "YAML の書き方がまちがっています（" + m[1] + "）。この行のあたりの字下げ（行頭の空白）と引用符を確かめてください。"
	}),
	tr(`this file has no "version: (\d+)" line; .*`, func(m []string) string {
		return "このファイルに「version: " + m[1] + "」の行がありません。ファイルの先頭に書いてください。"
	}),
	tr(`version (\d+) is not supported: this tsunagu reads flow schema version (\d+)`, func(m []string) string {
		return "version " + m[1] + " は読めません。このつなぐが読めるのは version " + m[2] + " です。"
	}),
	tr(`unknown key "(.+)" in (.+) \(allowed here: (.+)\)`, func(m []string) string {
		where := m[2]
		if where == "the top level" {
			where = "ファイルのいちばん上"
		}
		return "「" + m[1] + "」は " + where + " に書けないキーです。つづりを確かめてください（ここに書けるキー: " + m[3] + "）。"
	}),
	tr(`"(.+)" is already set in (.+):(\d+); set it in one file only`, func(m []string) string {
		return "「" + m[1] + "」は " + m[2] + " の " + m[3] + " 行目にもあります。一つのファイルにだけ書いてください。"
	}),
	tr(`(.+) is defined twice \(also in another file\)`, func(m []string) string {
		return m[1] + " が 2 回書かれています（別のファイルにもあります）。"
	}),
	tr(`(.+) goes to "([^"]*)", but there is no state with that id(.*)`, func(m []string) string {
		return subject(m[1]) + "の行き先「" + m[2] + "」という状態はありません" + didYouMean(m[3]) + "。"
	}),
	tr(`start: there is no state called "([^"]*)"(.*)`, func(m []string) string {
		return "start: の「" + m[1] + "」という状態はありません" + didYouMean(m[2]) + "。"
	}),
	tr(`(.+) names the category "(.+)", which is not in "categories:"`, func(m []string) string {
		return subject(m[1]) + "のカテゴリ「" + m[2] + "」は categories: にありません。"
	}),
	tr(`(.+) has no "(.+)" text: every text must exist in every declared language`, func(m []string) string {
		return subject(m[1]) + "に「" + m[2] + "」の文がありません。文は、フローのすべての言語で書きます。"
	}),
	tr(`(.+) has a text in "(.+)", which is not a declared language \((.+)\)`, func(m []string) string {
		return subject(m[1]) + "に「" + m[2] + "」という言語の文があります。その言語はフローにありません（言語: " + m[3] +
			"）。{ } の中の文に半角カンマ「,」やコロン「:」があるときは、文を引用符 \"…\" で囲んでください。"
	}),
	tr(`(.+) is missing: give it in every language \((.+)\)`, func(m []string) string {
		return subject(m[1]) + "がありません。すべての言語（" + m[2] + "）で書いてください。"
	}),
	tr(`texts\.(.+) is missing \((.+)\)`, func(m []string) string {
		return "決まった文 texts." + m[1] + " がありません（" + m[2] + "）。"
	}),
	tr(`texts\.(.+) is not a text tsunagu uses \(known: (.+)\)`, func(m []string) string {
		return "texts." + m[1] + " は、つなぐが使う文ではありません。つづりを確かめてください（使う文: " + m[2] + "）。"
	}),
	tr(`(.+) has no Slack channel: .*`, func(m []string) string {
		return subject(m[1]) + "に Slack チャンネルがありません。channel: \"#チャンネル名\" を書いてください（# の前後を引用符で囲みます）。"
	}),
	tr(`(.+) has no team: .*`, func(m []string) string {
		return subject(m[1]) + "に担当チームがありません。team: にチームの名前を書いてください。"
	}),
	tr(`crisis\.check (\S+) "(.+)" is (\d+) characters in "(.+)"; LINE allows at most (\d+)`, func(m []string) string {
		return "安全の確認の「" + m[2] + "」ボタンは、" + m[4] + " で " + m[3] + " 文字あります。LINE のボタンは " + m[5] + " 文字までです。"
	}),
	tr(`(.+) label "(.+)" is (\d+) characters in "(.+)"; LINE allows at most (\d+)`, func(m []string) string {
		return subject(m[1]) + "の文字「" + m[2] + "」は、" + m[4] + " で " + m[3] + " 文字あります。LINE のボタンは " + m[5] + " 文字までです。短くしてください。"
	}),
	tr(`(.+) has the same label "(.+)" as button (\d+); residents could not tell them apart`, func(m []string) string {
		return subject(m[1]) + "の文字「" + m[2] + "」は、ボタン " + m[3] + " と同じです。住民が見分けられません。"
	}),
	tr(`(.+) has (\d+) buttons; LINE shows at most (\d+)`, func(m []string) string {
		return subject(m[1]) + "にはボタンが " + m[2] + " 個あります。LINE に出せるのは " + m[3] + " 個までです。"
	}),
	tr(`(.+) does nothing: give it .*`, func(m []string) string {
		return subject(m[1]) + "は、押しても何も起きません。next:、category:、locale:、erase:、back: のどれかを書いてください。"
	}),
	tr(`(.+) switches to "(.+)", which is not a declared language`, func(m []string) string {
		return subject(m[1]) + "は言語「" + m[2] + "」に切り替えますが、その言語はフローにありません。"
	}),
	tr(`(.+) hands off but has no "category:" .*`, func(m []string) string {
		return subject(m[1]) + "は相談員につなぎますが、category: がありません（何も選ばなかった人のためのカテゴリ。ふつうは general）。"
	}),
	tr(`(.+) says nothing about free text: .*`, func(m []string) string {
		return subject(m[1]) + "には、ボタン以外の文が来たときの行き先（text:）がありません。text: {next: …} か text: {found: …, not_found: …} を書いてください。どんな文にも行き先があるようにするためです。"
	}),
	tr(`(.+) text: use either "next:" or .*`, func(m []string) string {
		return subject(m[1]) + "の text: には、next: か found:・not_found: の、どちらか一方だけを書いてください。"
	}),
	tr(`(.+) text: needs "next:", or both .*`, func(m []string) string {
		return subject(m[1]) + "の text: には、next: か、found: と not_found: の両方が要ります。"
	}),
	tr(`state "(.+)" cannot be reached: no button or text route leads to it from "(.+)"`, func(m []string) string {
		return "状態「" + m[1] + "」には、最初の状態「" + m[2] + "」から、どのボタンや文でもたどり着けません。"
	}),
	tr(`state "(.+)" is a dead end: .*`, func(m []string) string {
		return "状態「" + m[1] + "」は行き止まりです。そこから、ボタンや文で相談員（handoff: のある状態）にたどり着けません。"
	}),
	tr(`(.+): "(.+)" stops in the middle of a word(?:: write the whole word, e\.g\. "(.+)")?\. .*`, func(m []string) string {
		hint := ""
		if m[3] != "" {
			hint = "「" + m[3] + "」のように、言葉の終わりまで書いてください。"
		}
		return subject(m[1]) + "の「" + m[2] + "」は、言葉の途中で切れています。" + hint +
			"言葉はすべての形に当たるので（殴られる は 殴られた・殴られてる にも当たります）、切れ端は要りません。"
	}),
	tr(`(.+) has no phrases, so it can never (?:fire|be recognised)`, func(m []string) string {
		return subject(m[1]) + "に言葉（phrases）がないので、いつまでも当たりません。"
	}),
	tr(`(.+) shows no numbers: .*`, func(m []string) string {
		return subject(m[1]) + "は電話番号を一つも示しません。少なくとも 119 か 110 を numbers: に書いてください。"
	}),
	tr(`(.+) shows the number "(.+)", which is not in "crisis: numbers:"`, func(m []string) string {
		return subject(m[1]) + "の番号「" + m[2] + "」は crisis: numbers: にありません。"
	}),
	tr(`(.+) has no category: name the team that takes the urgent case`, func(m []string) string {
		return subject(m[1]) + "に category: がありません。急ぎの相談を受けるカテゴリを書いてください。"
	}),
	tr(`crisis: next is missing: .*`, func(m []string) string {
		return "crisis: next: がありません。危機のときに進む、急ぎで相談員につなぐ状態を書いてください。"
	}),
	tr(`crisis: next goes to "(.+)", which is not an urgent handoff state .*`, func(m []string) string {
		return "crisis: next: の「" + m[1] + "」は、急ぎで相談員につなぐ状態ではありません（その状態に handoff: {urgent: true} を書きます）。"
	}),
	tr(`intents\.(\S+) goes to "(.+)", which is not a handoff state: .*`, func(m []string) string {
		return "intents." + m[1] + " の行き先「" + m[2] + "」は、相談員につなぐ状態ではありません。人と話したい人は、必ず人につながるようにします。"
	}),
	tr(`intents\.(\S+) goes to "(.+)", which has no button with (.+)`, func(m []string) string {
		return "intents." + m[1] + " の行き先「" + m[2] + "」に、" + m[3] + " のボタンがありません。"
	}),
	tr(`intents\.(\S+) has no phrases`, func(m []string) string {
		return "intents." + m[1] + " に言葉（phrases）がありません。"
	}),
	tr(`intents\.(\S+) has no "next:" state`, func(m []string) string {
		return "intents." + m[1] + " に行き先（next:）がありません。"
	}),
	tr(`two (.+) are called "(.+)" \(the other is at (.+):(\d+)\); ids must be unique`, func(m []string) string {
		return "「" + m[2] + "」という id が 2 つあります（もう一つは " + m[3] + " の " + m[4] + " 行目）。id は重ならないようにしてください。"
	}),
	tr(`this (.+) has no id: .*`, func(m []string) string {
		return "この " + m[1] + " には id がありません。「id: 名前」を書いてください。"
	}),
	tr(`"(.+)": there is no concept called "(.+)" \(concepts are declared under "concepts:"\)(.*)`, func(m []string) string {
		return "「" + m[1] + "」: 「" + m[2] + "」という考え方（concept）はありません" + didYouMean(m[3]) + "。考え方は concepts: に書きます。"
	}),
	tr(`"(.+)" has no letters to match`, func(m []string) string {
		return "「" + m[1] + "」には、当てる文字がありません。"
	}),
	tr(`this phrase is empty: .*`, func(m []string) string {
		return "言葉が空です。探す言葉を書くか、この行を消してください。"
	}),
	tr(`"(.+)" ends with an operator: .*`, func(m []string) string {
		return "「" + m[1] + "」は + や ~ で終わっています。その後ろに言葉か考え方を書いてください。"
	}),
	tr(`hours\.weekly\.(\S+): "(.+)" is not a span like 08:30-17:15.*`, func(m []string) string {
		return "受付時間 " + m[1] + " の「" + m[2] + "」は、08:30-17:15 のような時間帯になっていません（始まりが終わりより前、24 時間の表記）。"
	}),
	tr(`hours\.holidays: "(.+)" is not a date like 2026-01-01`, func(m []string) string {
		return "休みの日「" + m[1] + "」は、2026-01-01 のような日付になっていません。"
	}),
	tr(`(.+) should be a list \(lines starting with "- "\), found .*`, func(m []string) string {
		return m[1] + " は、「- 」で始まる行の一覧にしてください。"
	}),
	tr(`(.+) should give the text once per language, .*`, func(m []string) string {
		return m[1] + " は、言語ごとに「ja: …」「en: …」のように行を分けて書いてください。"
	}),
	tr(`(.+) should be a set of "key: value" lines, found .*`, func(m []string) string {
		return m[1] + " は、「キー: 値」の行にしてください。"
	}),
	tr(`(.+) should be a text, found .*`, func(m []string) string {
		return m[1] + " は、文にしてください。"
	}),
	tr(`(.+) should be a phrase, found .*`, func(m []string) string {
		return m[1] + " は、言葉（一つの値）にしてください。"
	}),
	tr(`(.+) should be true or false, found "(.*)"`, func(m []string) string {
		return m[1] + " は true か false にしてください（いまは「" + m[2] + "」）。"
	}),
	tr(`(.+) should be a whole number, found "(.*)"`, func(m []string) string {
		return m[1] + " は整数にしてください（いまは「" + m[2] + "」）。"
	}),
}

// japanese says a linter message in Japanese, or "" when it is not known.
func japanese(msg string) string {
	for _, t := range translations {
		if m := t.re.FindStringSubmatch(msg); m != nil {
			return t.ja(m)
		}
	}
	return ""
}

// subjects name the parts of a flow the linter talks about, in Japanese.
var subjects = []struct {
	re *regexp.Regexp
	ja string
}{
	{regexp.MustCompile(`^state "(.+)" button (\d+) label$`), "状態「$1」のボタン $2 の文字"},
	{regexp.MustCompile(`^state "(.+)" button (\d+)$`), "状態「$1」のボタン $2 "},
	{regexp.MustCompile(`^state "(.+)" message$`), "状態「$1」のメッセージ"},
	{regexp.MustCompile(`^state "(.+)"$`), "状態「$1」"},
	{regexp.MustCompile(`^category "(.+)" name$`), "カテゴリ「$1」の名前"},
	{regexp.MustCompile(`^category "(.+)"$`), "カテゴリ「$1」"},
	{regexp.MustCompile(`^pattern "(.+)" name$`), "パターン「$1」の名前"},
	{regexp.MustCompile(`^pattern "(.+)"$`), "パターン「$1」"},
	{regexp.MustCompile(`^crisis rule "(.+)" message$`), "危機のルール「$1」のメッセージ"},
	{regexp.MustCompile(`^crisis rule "(.+)" check$`), "危機のルール「$1」の確認の質問"},
	{regexp.MustCompile(`^crisis rule "(.+)" (phrases|signs|except)$`), "危機のルール「$1」の $2 "},
	{regexp.MustCompile(`^crisis rule "(.+)"$`), "危機のルール「$1」"},
	{regexp.MustCompile(`^crisis number "(.+)" name$`), "電話番号「$1」の名前"},
	{regexp.MustCompile(`^crisis number "(.+)" hours$`), "電話番号「$1」の受付時間"},
	{regexp.MustCompile(`^crisis\.check message$`), "安全の確認の質問"},
	{regexp.MustCompile(`^crisis\.check thanks$`), "安全の確認の「ありがとう」の文"},
	{regexp.MustCompile(`^crisis\.check (yes|unsure|no)$`), "安全の確認の「$1」ボタン"},
	{regexp.MustCompile(`^texts\.(.+)$`), "決まった文 texts.$1 "},
}

// subject says what the linter names ("state \"welcome\" button 2") in
// Japanese, or as written when it is not known.
func subject(s string) string {
	for _, sb := range subjects {
		if sb.re.MatchString(s) {
			return sb.re.ReplaceAllString(s, sb.ja)
		}
	}
	return strings.TrimSpace(s)
}
