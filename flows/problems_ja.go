package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The people who edit flows are a city's welfare staff: problems are also
// said in Japanese. Each English message format has its Japanese twin with
// the same verbs in the same order; a format without one is shown in
// English rather than lost.
var problemsJA = map[string]string{
	`%s: %v`: `%s: %v`,
	`%s.%s is cut at " #%s": in YAML " #" starts a comment; put the text in quotes ("…") to keep numbers like #8000`:                    `%s.%s が「 #%s」で切れています。YAML では「 #」からあとはコメントになります。#8000 のような番号を残すには、文を引用符（"…"）で囲んでください`,
	`crisis number %q open: %v (write "00:00-24:00", "10:00-22:00" or "mon-fri 08:30-17:15")`:                                           `危機の電話番号 %q の open: %v（"00:00-24:00"、"10:00-22:00"、"mon-fri 08:30-17:15" のように書いてください）`,
	`%s (%s) has %s, which tsunagu does not fill (it fills %s)`:                                                                         `%s（%s）の %s は、tsunagu が置き換えない言葉です（置き換えるのは %s）`,
	`crisis rule %q: the first bubble can be %d characters in %q (the message and %d numbers); keep it under %d so it reads on a phone`: `危機ルール %q: 最初の吹き出しが %d 文字になることがあります（%s、文と番号 %d 個）。スマホで読めるよう %d 文字までにしてください`,
	`crisis rule %q: the bubbles after the first can be %d characters in %q; keep them under %d (fewer numbers, shorter texts)`:         `危機ルール %q: 2 つめからの吹き出しが %d 文字になることがあります（%s）。%d 文字までにしてください（番号を減らす、文を短くする）`,
	`%q is already set in %s:%d; set it in one file only`:                                                                               `%q は %s:%d でもう書かれています。1 つのファイルにだけ書いてください`,
	`%s (%s) uses {address}, but contact.address is not set`:                                                                            `%s（%s）が {address} を使っていますが、contact.address が書かれていません`,
	`%s (%s) uses {phone}, but contact.phone is not set`:                                                                                `%s（%s）が {phone} を使っていますが、contact.phone が書かれていません`,
	`%s does nothing: give it "next:", "category:", "locale:", "erase:" or "back:"`:                                                     `%s は押しても何も起きません。"next:"、"category:"、"locale:"、"erase:"、"back:" のどれかを書いてください`,
	`%s goes to %q, but there is no state with that id%s`:                                                                               `%s の行き先 %q という状態がありません%s`,
	`%s hands off but has no "category:" for residents who named no need (usually general)`:                                             `%s は相談員につなぎますが、分類がわからないときの "category:"（ふつうは general）がありません`,
	`%s has %d buttons; LINE shows at most %d`:                                                                                          `%s のボタンが %d 個あります。LINE で出せるのは %d 個までです`,
	`%s has a text in %q, which is not a declared language (%s)`:                                                                        `%s に %q の文がありますが、その言語は locales にありません（%s）`,
	`%s has no %q text: every text must exist in every declared language`:                                                               `%s に %q の文がありません。文はすべての言語で書きます`,
	`%s has no Slack channel: add "channel: \"#channel-name\"" so its cases reach a team`:                                               `%s に Slack チャンネルがありません。相談がチームに届くように "channel: \"#チャンネル名\"" を書いてください`,
	`%s has no category: name the team that takes the urgent case`:                                                                      `%s に category がありません。急ぎの相談を受けるカテゴリを書いてください`,
	`%s has no phrases, so it can never be recognised`:                                                                                  `%s に言葉（phrases）がないので、見つかることがありません`,
	`%s has no phrases, so it can never fire`:                                                                                           `%s に言葉（phrases）がないので、はたらきません`,
	`%s has no phrases, so it is never asked`:                                                                                           `%s に言葉（phrases）がないので、答えることがありません`,
	`%s has no team: add "team:" with the team's name`:                                                                                  `%s に担当チームがありません。"team:" にチーム名を書いてください`,
	`%s has the same label %q as button %d; residents could not tell them apart`:                                                        `%s のラベル %q はボタン %d と同じです。住民が見分けられません`,
	`%s is missing: give it in every language (%s)`:                                                                                     `%s がありません。すべての言語（%s）で書いてください`,
	`%s label %q is %d characters in %q; LINE allows at most %d`:                                                                        `%s のラベル %q は %d 文字です（%s）。LINE では %d 文字までです`,
	`%s names the category %q, which is not in "categories:"`:                                                                           `%s のカテゴリ %q は "categories:" にありません`,
	`%s says nothing about free text: add "text: {next: …}" or "text: {found: …, not_found: …}" so no message is a dead end`:            `%s にボタン以外の文の行き先がありません。"text: {next: …}" か "text: {found: …, not_found: …}" を書いて、どんな文も行き止まりにならないようにしてください`,
	`%s should be a list (lines starting with "- "), found %s`:                                                                          `%s は一覧（"- " で始まる行）にします。いまは%sです`,
	`%s should be a phrase, found %s`:                                                                                                   `%s は言葉 1 つにします。いまは%sです`,
	`%s should be a set of "key: value" lines, found %s`:                                                                                `%s は "キー: 値" の行にします。いまは%sです`,
	`%s should be a text, found %s`:                                                                                                     `%s は文にします。いまは%sです`,
	`%s should be a whole number, found %q`:                                                                                             `%s は整数にします。いまは %q です`,
	`%s should be true or false, found %q`:                                                                                              `%s は true か false にします。いまは %q です`,
	`%s should give the text once per language, like "ja: …" and "en: …" on their own lines`:                                            `%s は言語ごとに "ja: …"、"en: …" のように 1 行ずつ書きます`,
	`%s shows no numbers: list at least 119 or 110`:                                                                                     `%s に電話番号がありません。少なくとも 119 か 110 を書いてください`,
	`%s shows the number %q, which is not in "crisis: numbers:"`:                                                                        `%s の番号 %q は "crisis: numbers:" にありません`,
	`%s switches to %q, which is not a declared language`:                                                                               `%s は言語 %q に切り替えますが、その言語は locales にありません`,
	`%s text: "back: true" goes back where the resident came from; leave out "next:", "found:" and "not_found:"`:                        `%s の text: "back: true" は元の場所に戻ります。"next:"、"found:"、"not_found:" は書かないでください`,
	`%s text: "back: true" needs buttons: the question is asked once more before going back`:                                            `%s の text: "back: true" にはボタンが要ります（戻る前に、もう一度だけ聞くため）`,
	`%s text: needs "next:", or both "found:" and "not_found:" (where text goes when triage finds nothing)`:                             `%s の text: には "next:" か、"found:" と "not_found:" の両方（分類が見つからなかったときの行き先）が要ります`,
	`%s text: use either "next:" or "found:"/"not_found:", not both`:                                                                    `%s の text: には "next:" か "found:"/"not_found:" のどちらか一方を書きます`,
	`%s.%s is defined twice (also in another file)`:                                                                                     `%s.%s が 2 回書かれています（別のファイルにもあります）`,
	`%s.%s should be a text, found %s`:                                                                                                  `%s.%s は文にします。いまは%sです`,
	`%s: %q stops in the middle of a word: write the whole word, e.g. %q. Phrases match every form of their words (殴られる also finds 殴られた, 殴られてる), so a fragment is never needed`: `%s：%q は言葉の途中で切れています。言葉全体を書いてください（例：%q）。言葉は活用した形にも当たる（殴られる は 殴られた・殴られてる にも当たる）ので、切れ端は要りません`,
	`%s: %q stops in the middle of a word. Phrases match every form of their words (殴られる also finds 殴られた, 殴られてる), so a fragment is never needed`:                                `%s：%q は言葉の途中で切れています。言葉は活用した形にも当たる（殴られる は 殴られた・殴られてる にも当たる）ので、切れ端は要りません`,
	`a flow file should be a set of "key: value" lines (version:, states:, …)`:                                                                                                  `フローのファイルは "キー: 値" の行（version:、states: など）で書きます`,
	`a resident who only presses the first button never reaches a person from state %q: %s — let the first button of one of these states lead on`:                               `状態 %q から、いつも最初のボタンだけを押す住民が、相談員にたどり着きません：%s ── どれかの状態の最初のボタンを先へ進めてください`,
	`a resident who only writes words that match nothing never reaches a person from state %q: %s — make one of these states lead on to a handoff ("not_found:" or "next:")`:    `状態 %q から、どの言葉にも当たらない文だけを書く住民が、相談員にたどり着きません：%s ── どれかの状態から相談員へ進むようにしてください（"not_found:" か "next:"）`,
	`acknowledge.every %q is not a duration: write it like "3h" or "90m"`:                                                                                                       `acknowledge.every %q は時間の長さになっていません。"3h" や "90m" のように書いてください`,
	`acknowledge.every %q is too short: residents would be answered on every message (a minute at least)`:                                                                       `acknowledge.every %q は短すぎます。メッセージのたびに返事をしてしまいます（1 分以上にしてください）`,
	`concept %q has no words`:                                                                                 `考え方 %q に言葉がありません`,
	`concept %q: %q has no letters to match`:                                                                  `考え方 %q：%q には比べる文字がありません`,
	`concept %q: %q is a combination; a concept lists plain words and phrases`:                                `考え方 %q：%q は組み合わせです。考え方には言葉だけを並べます`,
	`concept id %q: use lower-case letters, digits and "_", starting with a letter (die, high_place)`:         `考え方の id %q：英小文字・数字・"_" で、英字から始めてください（die、high_place など）`,
	`crisis number %q has no number`:                                                                          `電話番号 %q に番号がありません`,
	`crisis.check %s %q is %d characters in %q; LINE allows at most %d`:                                       `crisis.check の %s %q は %d 文字です（%s）。LINE では %d 文字までです`,
	`crisis.lower %q has no phrases`:                                                                          `crisis.lower %q に言葉がありません`,
	`crisis.lower %q names the kind %q, which no crisis rule has`:                                             `crisis.lower %q の種類 %q は、どの危機ルールにもありません`,
	`crisis: next goes to %q, which is not an urgent handoff state (give it "handoff: {urgent: true}")`:       `crisis: next の %q は急ぎの引き継ぎの状態ではありません（"handoff: {urgent: true}" を付けてください）`,
	`crisis: next is missing: name the urgent handoff state every crisis leads to`:                            `crisis: next がありません。危機のときに入る、急ぎの引き継ぎの状態を書いてください`,
	`every crisis number needs its own id (%q is empty or used twice)`:                                        `電話番号にはそれぞれ別の id が要ります（%q が空か、2 回使われています）`,
	`every crisis rule needs its own kind (%q is empty or used twice)`:                                        `危機ルールにはそれぞれ別の kind が要ります（%q が空か、2 回使われています）`,
	`every faq entry needs its own id (%q is empty or used twice)`:                                            `faq にはそれぞれ別の id が要ります（%q が空か、2 回使われています）`,
	`every pattern needs its own id (%q is empty or used twice)`:                                              `patterns にはそれぞれ別の id が要ります（%q が空か、2 回使われています）`,
	`intents.%s has no "next:" state`:                                                                         `intents.%s に "next:" の状態がありません`,
	`intents.%s has no phrases`:                                                                               `intents.%s に言葉がありません`,
	`intents.delete goes to %q, which has no button with "erase: true"`:                                       `intents.delete の行き先 %q に "erase: true" のボタンがありません`,
	`intents.human goes to %q, which is not a handoff state: asking for a person must reach a person`:         `intents.human の行き先 %q は相談員につなぐ状態ではありません。人を求めた人は、人にたどり着く必要があります`,
	`intents.language goes to %q, which has no button with "locale:"`:                                         `intents.language の行き先 %q に "locale:" のボタンがありません`,
	`patterns are declared but "coordination: channel:" is not: compound cases need the coordination channel`: `patterns がありますが "coordination: channel:" がありません。複合的な相談には多機関協働のチャンネルが要ります`,
	`start: there is no state called %q%s`:                                                                    `start: %q という状態がありません%s`,
	`state %q cannot be reached: no button or text route leads to it from %q`:                                 `状態 %q にはたどり着けません。%q からそこへ行くボタンも文の行き先もありません`,
	`state %q is a dead end: no button or free text leads from it to a person (a state with "handoff:")`:      `状態 %q は行き止まりです。そこから相談員（"handoff:" のある状態）へ行くボタンも文の行き先もありません`,
	`texts.%s is missing (%s)`:                                                                                `texts.%s がありません（%s）`,
	`texts.%s is not a text tsunagu uses (known: %s)`:                                                         `texts.%s は tsunagu が使う文ではありません（使う文：%s）`,
	`the flow declares no languages: add "locales:" with at least one id (ja)`:                                `言語がありません。"locales:" に少なくとも 1 つ（ja）書いてください`,
	`the flow has no "start:" state: name the state new residents begin in`:                                   `"start:" がありません。はじめての住民が入る状態を書いてください`,
	`the flow has no categories: add "categories:", at least the general one`:                                 `カテゴリがありません。"categories:" に、少なくとも general を書いてください`,
	`the flow has no crisis rules: add "crisis: rules:" (suicide, violence, medical emergency) — residents in danger must get the emergency numbers at once`: `危機ルールがありません。"crisis: rules:"（自殺・暴力・急病など）を書いてください ── 危ない状態の住民には、すぐに緊急の番号を届けます`,
	`the flow has no states: add a "states:" list`: `状態がありません。"states:" を書いてください`,
	`the language %q is declared twice`:            `言語 %q が 2 回書かれています`,
	`this %s has no id: add "id: some_name"`:       `この %s に id がありません。"id: なまえ" を書いてください`,
	`this file has no "version: %d" line; add it at the top so future tsunagu versions know how to read it`:   `このファイルに "version: %d" の行がありません。先頭に書いてください（これからの tsunagu が読み方を知るためです）`,
	`this language has no id (ja, easy-ja, en…)`:                                                              `この言語に id がありません（ja、easy-ja、en など）`,
	`this phrase is empty: write the words to look for, or remove the line`:                                   `この言葉は空です。探す言葉を書くか、行を消してください`,
	`two %s are called %q (the other is at %s:%d); ids must be unique`:                                        `%s の中に %q が 2 つあります（もう 1 つは %s:%d）。id は重ならないようにします`,
	`two concepts are called %q; ids must be unique`:                                                          `考え方 %q が 2 つあります。id は重ならないようにします`,
	`unknown key %q in %s (allowed here: %s)`:                                                                 `%[2]s に知らないキー %[1]q があります（ここで使えるキー：%[3]s）`,
	`version %d is not supported: this tsunagu reads flow schema version %d`:                                  `version %d は読めません。この tsunagu が読めるのは version %d です`,
	`%q ends with an operator: add the word or concept after it`:                                              `%q は記号で終わっています。後ろに言葉か考え方を書いてください`,
	`%q has no letters to match`:                                                                              `%q には比べる文字がありません`,
	`%q: %q has no letters to match`:                                                                          `%q：%q には比べる文字がありません`,
	`%q: %q needs a word or concept on each side`:                                                             `%q：%q の両側に言葉か考え方が要ります`,
	`%q: put + or ~ between %q and the word before it (a phrase with spaces cannot be part of a combination)`: `%q：%q とその前の言葉のあいだに + か ~ を書いてください（空白を含む言葉は組み合わせに使えません）`,
	`%q: there is no concept called %q (concepts are declared under "concepts:")%s`:                           `%q：%q という考え方がありません（考え方は "concepts:" に書きます）%s`,
	` (did you mean %q?)`:  `（%q のことですか？）`,
	` (did you mean @%s?)`: `（@%s のことですか？）`,
	`YAML syntax error: %s (check the indentation and the quotes around this line)`: `YAML の書き方の誤り：%s（この行のまわりの字下げと引用符を確かめてください）`,
}

// jaSubjects are the English names of what a problem is about, when an
// argument starts with one (state "welcome" button 2 label…); the words
// after it are named in Japanese as whole words. Key names and paths
// (states[0], name) are YAML the administrator writes, and stay as written.
var jaSubjects = []string{"state ", "category ", "crisis rule ", "crisis number ", "pattern ", "faq ", "texts.", "crisis.check", "concept "}

var jaWordRe = regexp.MustCompile(`\b(crisis rule|crisis number|crisis\.check|category|pattern|state|button|label|message|name|hours|handoff|text again|text found|text not_found|text|guide|answer|check)\b`)

var jaWordMap = map[string]string{
	"crisis rule": "危機ルール", "crisis number": "電話番号", "crisis.check": "安全の確認", "category": "カテゴリ",
	"pattern": "パターン", "state": "状態", "button": "ボタン", "label": "ラベル", "message": "メッセージ", "name": "名前",
	"hours": "受付時間", "handoff": "引き継ぎ", "text again": "もう一度聞く文", "text found": "見つかったときの行き先",
	"text not_found": "見つからないときの行き先", "text": "文の行き先", "guide": "案内", "answer": "答え", "check": "確認の質問",
}

// jaKinds name what YAML found where something else was expected.
var jaKinds = map[string]string{"the top level": "ファイルのいちばん上", "a list": "一覧", "a set of keys": "キーと値の組", "a single value": "1 つの値", "a document": "文書"}

// jaSpaceRe finds the spaces English formats leave between Japanese words.
var jaSpaceRe = regexp.MustCompile(`([\p{Han}\p{Hiragana}\p{Katakana}ー」）])[ \t]+([\p{Han}\p{Hiragana}\p{Katakana}ー「（])`)

// jaQuoteRe finds the quoted names of a format (%q, %[2]q, "%s") to
// quote them 「like this」 instead.
var jaQuoteRe = regexp.MustCompile(`"?%(\[\d+\])?q"?|"%(\[\d+\])?s"`)

var quotedRe = regexp.MustCompile(`"([^"]*)"`)

var didYouMeanRe = regexp.MustCompile(` ?\(did you mean "?([^")?]*)"?\?\)`)

// In renders the problem with its place in a language: "ja" in Japanese,
// anything else in English.
func (p Problem) In(lang string) string {
	return fmt.Sprintf("%s:%d:%d: %s", p.Pos.File, p.Pos.Line, p.Pos.Col, p.Say(lang))
}

// Say is the problem's message alone in a language: "ja" in Japanese
// (English when the catalogue lacks it), anything else in English.
func (p Problem) Say(lang string) string {
	msg := p.Message
	if strings.HasPrefix(lang, "ja") && p.format != "" {
		if ja, ok := problemsJA[p.format]; ok {
			args := make([]any, len(p.args))
			for i, a := range p.args {
				switch v := a.(type) {
				case string:
					args[i] = jaString(v)
				case error:
					args[i] = jaString(v.Error())
				default:
					args[i] = a
				}
			}
			// Japanese quotes its names 「like this」.
			msg = fmt.Sprintf(jaQuoteRe.ReplaceAllStringFunc(ja, func(v string) string {
				return "「%" + jaQuoteRe.FindStringSubmatch(v)[1] + jaQuoteRe.FindStringSubmatch(v)[2] + "s」"
			}), args...)
			msg = didYouMeanRe.ReplaceAllString(msg, "（「$1」のまちがいではありませんか？）")
			msg = jaSpaceRe.ReplaceAllString(jaSpaceRe.ReplaceAllString(msg, "$1$2"), "$1$2")
		}
	}
	return msg
}

// jaString renders a message fragment: a whole message of the catalogue
// (a phrase error inside a problem), or English names inside it.
func jaString(s string) string {
	for en, ja := range problemsJA {
		if !strings.Contains(en, "%") && s == en {
			return ja
		}
	}
	if ja, ok := jaKinds[s]; ok {
		return ja
	}
	if !slices.ContainsFunc(jaSubjects, func(p string) bool { return strings.HasPrefix(s, p) }) {
		return s
	}
	s = jaWordRe.ReplaceAllStringFunc(s, func(w string) string { return jaWordMap[w] })
	return quotedRe.ReplaceAllString(s, "「$1」")
}

// In renders every problem in a language, one per line.
func (ps Problems) In(lang string) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.In(lang)
	}
	return strings.Join(lines, "\n")
}
