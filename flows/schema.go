// Package flows holds the conversation core of tsunagu: the flow YAML schema,
// its loader and linter, triage, and the engine that moves a resident's
// session from one state to the next. It is pure: no network, no Redis, and
// no clock other than the time carried by each Input.
package flows

import (
	"sync"
	"time"

	"github.com/looplab/fsm"
)

// SchemaVersion is the flow YAML schema version this build understands.
const SchemaVersion = 1

// Pos is where something was written in a flow file, for error messages.
type Pos struct {
	File string
	Line int
	Col  int
}

// Text is one text in every declared locale.
type Text struct {
	Pos Pos
	// ByLocale maps a locale id to the text.
	ByLocale map[string]string
}

// In returns the text in locale, or in fallback when locale has none.
func (t Text) In(locale, fallback string) string {
	if s, ok := t.ByLocale[locale]; ok && s != "" {
		return s
	}
	return t.ByLocale[fallback]
}

// Flow is a whole consultation flow as an administrator wrote it, possibly
// spread over several files of one folder.
type Flow struct {
	Pos Pos `yaml:"-"`
	// Version is the schema version; must equal SchemaVersion.
	Version int `yaml:"version"`
	// Name is a free label for the flow ("〇〇市 断らない相談").
	Name string `yaml:"name"`
	// Locales lists the locale ids every text must exist in; the first is the default.
	Locales []Locale `yaml:"locales"`
	// Start is the state a new session begins in.
	Start string `yaml:"start"`
	// Texts are the fixed texts the engine and the adapters use (see FixedTexts).
	Texts map[string]Text `yaml:"texts"`
	// Intents are phrases that work from any state (talk to a person, delete, language).
	Intents Intents `yaml:"intents"`
	// Categories are the triage categories and their teams.
	Categories []Category `yaml:"categories"`
	// Patterns are compound needs (8050, ダブルケア…) worth a coordination post.
	Patterns []Pattern `yaml:"patterns"`
	// Crisis is the global crisis rule set, checked on every input in every state.
	Crisis Crisis `yaml:"crisis"`
	// Coordination is the Slack channel for compound cases (多機関協働).
	Coordination Coordination `yaml:"coordination"`
	// Hours are the business hours when staff answer.
	Hours Hours `yaml:"hours"`
	// States are the conversation states.
	States []State `yaml:"states"`
	// Concepts are named word lists that phrases combine ("die + wish").
	Concepts []Concept `yaml:"concepts"`
	// FAQ are questions answered without opening a case (is this anonymous,
	// what are your hours…).
	FAQ []FAQ `yaml:"faq"`
	// Contact is the counter's own phone and address, for texts that quote them.
	Contact Contact `yaml:"contact"`
	// Acknowledge says how often a resident who writes while staff have the
	// case hears that their words arrived.
	Acknowledge Acknowledge `yaml:"acknowledge"`
	// keyPos is where each top-level key was written, for problems about
	// what is missing under it.
	keyPos map[string]Pos

	// Files lists the files the flow was read from, in order.
	Files []string `yaml:"-"`

	// Derived at load time.
	index  map[string]int // state id -> position in States
	catIx  map[string]int // category id -> position in Categories
	triage *triager
	events fsm.Events
	// labels are each state's button labels, normalised, in every locale.
	labels [][][]string
	// machines are state machines of this flow, reused across steps:
	// building one per step cost more than the step itself.
	machines *sync.Pool
}

// Phrase is one entry of a phrase list, where it was written. It is a word
// or phrase (死にたい, 首を吊る, kill myself, 死に*たい), or a combination of
// concepts and words: "a + b" when b follows a as part of the same phrase
// (死に + たい), "a ~ b" when they come within a few words of each other in
// one sentence, in either order.
type Phrase struct {
	Pos  Pos
	Text string
}

// Concept is a named list of words that mean one thing for triage (dying,
// a wish, a high place), so that phrases can combine meanings instead of
// listing every sentence.
type Concept struct {
	Pos Pos `yaml:"-"`
	// ID is how phrases refer to it; lower-case letters, digits and "_".
	ID    string   `yaml:"id"`
	Words []Phrase `yaml:"words"`
}

// Locale is one language the flow speaks.
type Locale struct {
	Pos  Pos    `yaml:"-"`
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Intents are phrase sets recognised in every state.
type Intents struct {
	// Human sends the resident to a person at once ("人と話したい").
	Human Intent `yaml:"human"`
	// Delete asks to erase the resident's data ("削除").
	Delete Intent `yaml:"delete"`
	// Language opens the language choice.
	Language Intent `yaml:"language"`
	// Greetings are phrases that alone are never triaged as a need.
	Greetings []Phrase `yaml:"greetings"`
	// Guide are questions about where to go, what to bring or what it costs:
	// they are answered from the category's guide text.
	Guide []Phrase `yaml:"guide"`
	// Waiting are questions a resident asks while staff have the case
	// (まだですか, 誰か見てますか): answered every time with when a
	// person will read, never left to the acknowledgement's pace.
	Waiting []Phrase `yaml:"waiting"`
	// Thanks are phrases that alone close a talk (わかりました、ありがとう):
	// answered with texts.thanks, not taken as a need.
	Thanks []Phrase `yaml:"thanks"`
	// Takeback are words that take a disclosure back after a crisis answer
	// (やっぱりいいです, なんでもない, 気にしないで): they get the warm
	// answer that keeps the door open, and the case stays urgent.
	Takeback []Phrase `yaml:"takeback"`
	// EasyJapanese are words about one's Japanese (日本語すこしだけ): the
	// talk switches to やさしい日本語 at once, without the language menu.
	EasyJapanese []Phrase `yaml:"easy_japanese"`
}

// FAQ is a question residents ask before anything else, and its answer.
// Answers may use {hours}, {next_open}, {phone} and {address}.
type FAQ struct {
	Pos     Pos      `yaml:"-"`
	ID      string   `yaml:"id"`
	Phrases []Phrase `yaml:"phrases"`
	// Except cancels the phrases it overlaps (申請にお金かかりますか is not
	// about the consultation's cost).
	Except []Phrase `yaml:"except"`
	Answer Text     `yaml:"answer"`
}

// Contact is the consultation desk's own phone and address, filled in by
// the city; texts quote them as {phone} and {address}.
type Contact struct {
	Pos     Pos    `yaml:"-"`
	Phone   string `yaml:"phone"`
	Address Text   `yaml:"address"`
}

// Acknowledge configures the short answers a resident gets while staff have
// the case: the first message always, then one at most every Every.
type Acknowledge struct {
	Pos Pos `yaml:"-"`
	// Every is a duration such as "3h"; "3h" when empty.
	Every string `yaml:"every"`

	every time.Duration
}

// Intent is a set of phrases that leads to one state.
type Intent struct {
	Pos     Pos      `yaml:"-"`
	Phrases []Phrase `yaml:"phrases"`
	Next    string   `yaml:"next"`
}

// Category is one triage category, the team that takes it and its Slack channel.
type Category struct {
	Pos     Pos      `yaml:"-"`
	ID      string   `yaml:"id"`
	Name    Text     `yaml:"name"`
	Team    string   `yaml:"team"`
	Channel string   `yaml:"channel"`
	Phrases []Phrase `yaml:"phrases"`
	Except  []Phrase `yaml:"except"`
	// Urgent marks every case of this category urgent (violence, for example).
	Urgent bool `yaml:"urgent"`
	// Guide says where and how: the window, what to bring, that it is free,
	// whether staff visit the home. Said when a resident asks.
	Guide Text `yaml:"guide"`
	// OtherLanguages makes a message written mostly in a language other than
	// Japanese count towards this category (foreign residents).
	OtherLanguages bool `yaml:"other_languages"`
}

// Pattern is a compound need: phrases that flag it, and the categories it spans.
type Pattern struct {
	Pos        Pos      `yaml:"-"`
	ID         string   `yaml:"id"`
	Name       Text     `yaml:"name"`
	Categories []string `yaml:"categories"`
	Phrases    []Phrase `yaml:"phrases"`
	Except     []Phrase `yaml:"except"`
}

// Crisis is the global crisis rule set.
type Crisis struct {
	Pos Pos `yaml:"-"`
	// Next is the urgent handoff state every crisis leads to.
	Next string `yaml:"next"`
	// Numbers are the emergency numbers the rules refer to.
	Numbers []Number `yaml:"numbers"`
	// Rules are checked in order on every input; the first that matches wins.
	Rules []CrisisRule `yaml:"rules"`
	// Check is the safety check asked when the signal is not clear.
	Check SafetyCheck `yaml:"check"`
	// Lower lists contexts that turn a crisis verdict into a safety check:
	// hyperbole, a topic, the past, things rather than people.
	Lower []Lower `yaml:"lower"`
	// SignsForCrisis is how many different signs in the resident's recent
	// messages count as a crisis (3 when zero).
	SignsForCrisis int `yaml:"signs_for_crisis"`
	// AboutOther are phrases that say the words are about someone else
	// (友達が…って投稿してる): a rule's "other" texts are used then.
	AboutOther []Phrase `yaml:"about_other"`
}

// SafetyCheck is the direct, kind question a gatekeeper asks when unsure
// ("もしかして、消えたい・死にたいと思うほどつらいですか？"), and its answers.
type SafetyCheck struct {
	Pos Pos `yaml:"-"`
	// Message is the question when a rule has no check of its own.
	Message Text `yaml:"message"`
	// Yes, Unsure and No are the button labels; yes and unsure lead to the
	// crisis answer and a person, no goes on with the conversation.
	Yes    Text `yaml:"yes"`
	Unsure Text `yaml:"unsure"`
	No     Text `yaml:"no"`
	// Thanks is said after "no", before the conversation goes on.
	Thanks Text `yaml:"thanks"`
	// Answers are typed answers taken as pressing a button.
	Answers CheckAnswers `yaml:"answers"`
}

// CheckAnswers are phrases that answer the safety check in words.
type CheckAnswers struct {
	Pos    Pos      `yaml:"-"`
	Yes    []Phrase `yaml:"yes"`
	Unsure []Phrase `yaml:"unsure"`
	No     []Phrase `yaml:"no"`
	// Safe are the words that say "I am safe now" after a crisis answer
	// asked it. A bare no (いいえ) is not among them: to "are you somewhere
	// safe?" it means the opposite of what it means to the check.
	Safe []Phrase `yaml:"safe"`
}

// Lower is a context that lowers a crisis verdict found in the same
// sentence to a safety check: it never silences it.
type Lower struct {
	Pos Pos    `yaml:"-"`
	ID  string `yaml:"id"`
	// Kinds are the crisis kinds it applies to; all when empty.
	Kinds   []string `yaml:"kinds"`
	Phrases []Phrase `yaml:"phrases"`
}

// Number is an emergency or help line.
type Number struct {
	Pos    Pos    `yaml:"-"`
	ID     string `yaml:"id"`
	Number string `yaml:"number"`
	Name   Text   `yaml:"name"`
	Hours  Text   `yaml:"hours"`
	// Open is when the line answers, in the flow's time zone: "00:00-24:00"
	// for always, "10:00-22:00" every day, "mon-fri 08:30-17:15" on
	// weekdays that are not holidays. Lines open now come first in a
	// crisis answer, so nobody at 2 a.m. is sent first to a closed line.
	// Left out, the line keeps its place.
	Open []string `yaml:"open"`

	open []openSpan
}

// CrisisRule is one kind of crisis (suicide, violence, medical) and what to say.
type CrisisRule struct {
	Pos  Pos    `yaml:"-"`
	Kind string `yaml:"kind"`
	// Category is the category the urgent case is filed under.
	Category string `yaml:"category"`
	// Phrases are clear signs: a match is a crisis at once.
	Phrases []Phrase `yaml:"phrases"`
	// Signs are signs that are not clear alone: one asks the safety check,
	// several in the recent messages count as a crisis.
	Signs []Phrase `yaml:"signs"`
	// Except cancels the phrases and signs it overlaps (死ぬほど笑った).
	Except  []Phrase `yaml:"except"`
	Message Text     `yaml:"message"`
	// Check is the safety-check question for this kind.
	Check Text `yaml:"check"`
	// Numbers are Number ids, shown in this order (those open now first).
	Numbers []string `yaml:"numbers"`
	// YoungNumbers replace Numbers when the resident writes as a child or
	// a pupil (24時間子供SOSダイヤル first).
	YoungNumbers []string `yaml:"young_numbers"`
	// YoungSigns are signs only when the resident writes as a child or a
	// pupil (追い出された, 泊まるところがない).
	YoungSigns []Phrase `yaml:"young_signs"`
	// Other and OtherSafeNow replace Message and the last bubble when the
	// words are about someone else (crisis.about_other): the friend who
	// posted goodbye, not the one writing.
	Other        Text `yaml:"other"`
	OtherSafeNow Text `yaml:"other_safe_now"`
	// SafeNow replaces texts.safe_now, the last bubble, for this kind (a
	// carer who pushed their mother is asked about both of them).
	SafeNow Text `yaml:"safe_now"`
}

// Coordination is where compound cases are also posted.
type Coordination struct {
	Pos     Pos    `yaml:"-"`
	Team    string `yaml:"team"`
	Channel string `yaml:"channel"`
}

// Hours are the business hours of the consultation desk.
type Hours struct {
	Pos Pos `yaml:"-"`
	// Timezone is an IANA zone name, "Asia/Tokyo" by default.
	Timezone string `yaml:"timezone"`
	// Weekly maps mon..sun to opening spans such as "08:30-17:15".
	Weekly map[string][]string `yaml:"weekly"`
	// Holidays are closed dates, "2026-01-01".
	Holidays []string `yaml:"holidays"`
	// NightDuty is set when someone reads urgent cases outside these hours;
	// otherwise residents are told plainly when a person will read them.
	NightDuty bool `yaml:"night_duty"`

	spans    [7][]span // by time.Weekday
	closed   map[string]bool
	location *time.Location
}

// State is one step of the conversation.
type State struct {
	Pos Pos    `yaml:"-"`
	ID  string `yaml:"id"`
	// Message is said when the state is entered.
	Message Text `yaml:"message"`
	// QuickReplies are the buttons offered with the message.
	QuickReplies []QuickReply `yaml:"quick_replies"`
	// Text says where free text goes.
	Text *TextRoute `yaml:"text"`
	// Handoff makes entering the state hand the case to a person.
	Handoff *HandoffSpec `yaml:"handoff"`
	// Known skips the question when the resident's words already answer
	// it: a button's phrases are found in them (the last listed wins).
	Known bool `yaml:"known"`
}

// QuickReply is one button: its label and what choosing it does.
type QuickReply struct {
	Pos   Pos  `yaml:"-"`
	Label Text `yaml:"label"`
	// Next is the state to go to; empty means stay.
	Next string `yaml:"next"`
	// Category records a need when chosen.
	Category string `yaml:"category"`
	// Locale switches the resident's language when chosen.
	Locale string `yaml:"locale"`
	// Erase deletes the resident's data when chosen.
	Erase bool `yaml:"erase"`
	// Back returns to the state the resident was in before (after a cancelled delete).
	Back bool `yaml:"back"`
	// Phrases typed by the resident also press the button (母, 父 press
	// 家族のこと).
	Phrases []Phrase `yaml:"phrases"`
}

// TextRoute says where free text goes from a state.
type TextRoute struct {
	Pos Pos `yaml:"-"`
	// Next is where any free text goes, whatever triage finds.
	Next string `yaml:"next"`
	// Found is where text goes when triage finds a need.
	Found string `yaml:"found"`
	// NotFound is where text goes when triage finds nothing.
	NotFound string `yaml:"not_found"`
	// Again is said before the state's question is asked once more, the
	// first time free text comes where buttons were offered; the text is
	// kept for staff. The second time, the flow goes on.
	Again Text `yaml:"again"`
	// Back sends free text back to the state the resident came from (after
	// the question was asked again), as a cancelled confirmation does.
	Back bool `yaml:"back"`
}

// HandoffSpec marks a state that hands the case to a person.
type HandoffSpec struct {
	Pos    Pos  `yaml:"-"`
	Urgent bool `yaml:"urgent"`
	// Category is used when the resident named none ("general" usually).
	Category string `yaml:"category"`
}

// FixedTexts are the keys of Flow.Texts the service needs, and what each is for.
var FixedTexts = map[string]string{
	"privacy":         "privacy notice shown at first contact",
	"out_of_hours":    "said once a day when a case is handed over outside business hours; {next_open} is replaced",
	"delete_done":     "said after the resident's data was erased",
	"handoff_done":    "said when the resident is already with a person and asks for one again",
	"non_text":        "answer to a sticker, image, audio, file or location before any case is open",
	"group_notice":    "said in group or room chats before leaving: consultations are one-to-one",
	"case_closed":     "said when staff close the case: how to come back",
	"staff_role":      "the name residents see in front of staff messages (相談員)",
	"checkin":         "the gentle check-in staff can schedule for a resident who went quiet",
	"numbers_heading": "heading above the list of emergency numbers in a crisis reply",
	"list_joiner":     "separator between category names in {categories}",
}

// OptionalTexts are texts a flow may give; when it does not, the default
// flow's text is used, so a city's flow written before them keeps working.
var OptionalTexts = map[string]string{
	"greeting_morning":    "{greeting} from 4:00 to 10:00 (おはようございます)",
	"greeting_day":        "{greeting} from 10:00 to 18:00 (こんにちは)",
	"greeting_evening":    "{greeting} from 18:00 to 4:00 (こんばんは)",
	"ack_first":           "the first message after a handoff, while staff have the case: it arrived",
	"ack_again":           "at most once per acknowledge.every while staff have the case",
	"ack_closed":          "added to an acknowledgement outside business hours; {next_open} is replaced",
	"urgent_told":         "in a crisis answer, when someone reads urgent cases now",
	"urgent_closed":       "in a crisis answer, when no one reads them until {next_open}: say so plainly",
	"safe_now":            "the last bubble of a crisis answer: いま安全な場所にいますか？",
	"crisis_again":        "the short answer when crisis words come again in the same case",
	"after_crisis_ok":     "a warm answer to 大丈夫です after a crisis answer; the case stays urgent",
	"delete_kept":         "said when the resident backs out of deleting: nothing was erased",
	"after_crisis_unsure": "the answer to わからない or a bare いいえ after a crisis answer asked whether the resident is safe",
	"delete_history":      "after erasing: how to delete the LINE talk history on the phone",
	"delete_done_kept":    "said instead of delete_done where the city keeps the staff's record (TSUNAGU_ERASE_SLACK=false): what is kept, and where",
	"guide_none":          "answer to where to go or what to bring before any need is known",
	"status_open":         "{status} while the desk is open",
	"status_closed":       "{status} while it is closed; {next_open} is replaced",
	"waiting_open":        "answer to まだですか while staff have the case and the desk is open",
	"waiting_closed":      "the same while it is closed (or at night without night duty); {next_open} is replaced",
	"thanks":              "answer to a message of thanks alone, before a case is open",
	"answered_again":      "said instead of the same FAQ or guide answer twice in a row: a person will answer the rest",
	"ack_crisis":          "every message after the crisis numbers were given: the words reach staff, when a person reads ({status}), the lines that take text",
	"ack_crisis_question": "a question after the crisis numbers were given: do not wait, call now",
	"ack_crisis_again2":   "the other short form of ack_crisis, so that they alternate",
	"ack_crisis_text":     "before the lines that take text in ack_crisis, when one is open",
	"ack_crisis_again":    "the short form of ack_crisis for messages that follow close",
	"ack_more":            "a new need heard while staff have the case: {categories} are its names; said when nothing else was",
	"ack_question_again":  "a further question within 10 minutes of ack_question: short",
	"ack_question":        "a question while staff have the case: a person will answer it (at most once in 10 minutes)",
	"question_kept":       "a question before the handoff that the flow cannot answer: it is passed on, a person will answer",
	"privacy_later":       "the privacy notice when it was held back by a crisis answer: no greeting, what happens to the words and how to erase them",
	"check_unanswered":    "said when the resident writes on instead of answering the safety check: a 24-hour line, no pressure",
}
