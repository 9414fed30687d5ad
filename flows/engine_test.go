package flows

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mini(t testing.TB) *Flow {
	t.Helper()
	f, err := LoadPath("testdata/mini")
	if err != nil {
		t.Fatalf("load mini flow: %v", err)
	}
	return f
}

// weekday10 is a Wednesday at 10:00 in Tokyo, inside business hours.
var weekday10 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("JST", 9*3600))

func say(text string) Input { return Input{Kind: InputText, Text: text, Now: weekday10} }

func replies(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		if r, ok := a.(Reply); ok {
			b.WriteString(r.Text)
		}
	}
	return b.String()
}

func handoffOf(actions []Action) (Handoff, bool) {
	for _, a := range actions {
		if h, ok := a.(Handoff); ok {
			return h, true
		}
	}
	return Handoff{}, false
}

func TestStepTable(t *testing.T) {
	f := mini(t)
	tests := []struct {
		name       string
		inputs     []string
		wantReply  string // in the last step's reply
		wantState  string
		wantCats   []string // of a handoff in the last step; nil means no handoff
		wantUrgent bool
	}{
		{"greeting only re-shows the question", []string{"こんにちは！"}, "どんなことでお困りですか", "welcome", nil, false},
		{"first message is a crisis", []string{"しにたい"}, "0570-783-556", "urgent", []string{"general"}, true},
		{"crisis phrase in katakana and half-width", []string{"ｼﾆﾀｲ"}, "119", "urgent", []string{"general"}, true},
		{"not a crisis: laughed to death", []string{"死ぬほど笑った"}, "もう少し", "listen", nil, false},
		{"crisis mid-flow", []string{"こんにちは", "介護", "殴られています"}, "あなたは悪くありません", "urgent", []string{"violence", "elderly"}, true},
		{"crisis split over two messages", []string{"死に", "たい"}, "119", "urgent", []string{"general"}, true},
		{"talk to a person from start", []string{"人と話したい"}, "おつなぎします", "person", []string{"general"}, false},
		{"talk to a person in English after hello", []string{"hello", "I want to talk to a person"}, "counselor", "person", []string{"general"}, false},
		{"free text triaged then confirmed", []string{"母の介護がつらい"}, "高齢・介護のことですね", "confirm", nil, false},
		{"confirm then handoff", []string{"母の介護がつらい", "はい"}, "おつなぎします", "person", []string{"elderly"}, false},
		{"unknown twice goes to general", []string{"あのう", "なんというか"}, "おつなぎします", "person", []string{"general"}, false},
		{"urgent category", []string{"DVを受けています", "はい"}, "おつなぎします", "person", []string{"violence"}, true},
		{"emoji only is not a dead end", []string{"😢", "😢"}, "おつなぎします", "person", []string{"general"}, false},
		{"empty line is not a dead end", []string{"", ""}, "おつなぎします", "person", []string{"general"}, false},
		{"control characters", []string{"\x00\x1b[31m\x07", "??"}, "connecting you", "person", []string{"general"}, false},
		{"delete asks first", []string{"削除"}, "削除しますか", "confirm_delete", nil, false},
		{"typed label presses the button", []string{"介護"}, "のことですね", "confirm", nil, false},
		{"english word boundary: myselfish is not myself", []string{"kill myselfish"}, "Tell me a little more", "listen", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Session
			var acts []Action
			for _, in := range tt.inputs {
				s, acts = f.Step(s, say(in))
			}
			if got := replies(acts); !strings.Contains(got, tt.wantReply) {
				t.Errorf("reply %q does not contain %q", got, tt.wantReply)
			}
			if s.State != tt.wantState {
				t.Errorf("state = %q, want %q", s.State, tt.wantState)
			}
			h, ok := handoffOf(acts)
			if tt.wantCats == nil {
				if ok {
					t.Errorf("unexpected handoff %+v", h)
				}
				return
			}
			if !ok {
				t.Fatalf("no handoff; actions %+v", acts)
			}
			if strings.Join(h.Categories[:min(len(h.Categories), len(tt.wantCats))], ",") != strings.Join(tt.wantCats, ",") {
				t.Errorf("categories = %v, want prefix %v", h.Categories, tt.wantCats)
			}
			if h.Urgent != tt.wantUrgent {
				t.Errorf("urgent = %v, want %v", h.Urgent, tt.wantUrgent)
			}
		})
	}
}

func TestFirstContactShowsPrivacyOnce(t *testing.T) {
	f := mini(t)
	s, acts := f.Step(Session{}, Input{Kind: InputEvent, Event: EventFollow, Now: weekday10})
	if got := replies(acts); !strings.Contains(got, "匿名") || !strings.Contains(got, "お困り") {
		t.Fatalf("follow reply = %q, want privacy notice and greeting", got)
	}
	_, acts = f.Step(s, say("こんにちは"))
	if strings.Contains(replies(acts), "匿名") {
		t.Fatalf("privacy notice repeated: %q", replies(acts))
	}
}

func TestChoiceAndLanguage(t *testing.T) {
	f := mini(t)
	s, acts := f.Step(Session{}, say("こんにちは"))
	// The privacy notice is a bubble of its own; the buttons are on the last.
	r := lastReply(acts)
	if len(r.QuickReplies) != 3 {
		t.Fatalf("quick replies = %+v", r.QuickReplies)
	}
	s, _ = f.Step(s, Input{Kind: InputChoice, Text: r.QuickReplies[2].Data, Now: weekday10})
	if s.State != "language" {
		t.Fatalf("state = %q, want language", s.State)
	}
	s, acts = f.Step(s, say("English"))
	if s.Locale != "en" || s.State != "welcome" {
		t.Fatalf("locale %q state %q, want en welcome", s.Locale, s.State)
	}
	if !strings.Contains(replies(acts), "What is troubling you") {
		t.Fatalf("reply not in English: %q", replies(acts))
	}
	var sawLocale bool
	for _, a := range acts {
		if l, ok := a.(SetLocale); ok && l.Locale == "en" {
			sawLocale = true
		}
	}
	if !sawLocale {
		t.Fatalf("no SetLocale action in %+v", acts)
	}
	// A stale button from an earlier message re-shows the current state.
	s2, acts := f.Step(s, Input{Kind: InputChoice, Text: "confirm_delete:0", Now: weekday10})
	if s2.State != "welcome" || !strings.Contains(replies(acts), "What is troubling") {
		t.Fatalf("stale choice: state %q reply %q", s2.State, replies(acts))
	}
}

func TestDeleteConfirmAndCancel(t *testing.T) {
	f := mini(t)
	s, _ := f.Step(Session{}, say("介護"))
	s, _ = f.Step(s, say("削除"))
	cancelled, acts := f.Step(s, say("やめる"))
	if cancelled.State != "confirm" || strings.Contains(replies(acts), "削除しました") {
		t.Fatalf("cancel: state %q reply %q", cancelled.State, replies(acts))
	}
	erased, acts := f.Step(s, say("削除する"))
	var sawErase bool
	for _, a := range acts {
		_, sawErase = a.(Erase)
		if sawErase {
			break
		}
	}
	if !sawErase || !strings.Contains(replies(acts), "削除しました") {
		t.Fatalf("erase: actions %+v", acts)
	}
	if len(erased.Recent) != 0 || len(erased.Chosen) != 0 || erased.Greeted {
		t.Fatalf("session not wiped: %+v", erased)
	}
}

func TestHandedOffRelaysAndEscalates(t *testing.T) {
	f := mini(t)
	s, _ := f.Step(Session{}, say("人と話したい"))
	s.Case = "K-TEST"
	s, acts := f.Step(s, say("今日は寒いです"))
	// The first message after the handoff: an acknowledgement and the relay.
	if len(acts) != 2 || !strings.Contains(replies(acts), "受け取りました") {
		t.Fatalf("want an acknowledgement and one relay, got %+v", acts)
	}
	if r, ok := acts[1].(Relay); !ok || r.Case != "K-TEST" || r.Text != "今日は寒いです" {
		t.Fatalf("relay = %+v", acts[1])
	}
	// The next one, a minute later: the relay alone, no second acknowledgement.
	s, acts = f.Step(s, Input{Kind: InputText, Text: "風邪をひきそう", Now: weekday10.Add(time.Minute)})
	if len(acts) != 1 {
		t.Fatalf("want only the relay, got %+v", acts)
	}
	s, acts = f.Step(s, Input{Kind: InputEvent, Event: EventSticker, Now: weekday10})
	if r, ok := acts[0].(Relay); !ok || r.Text != "[sticker]" {
		t.Fatalf("sticker relay = %+v", acts)
	}
	s, acts = f.Step(s, say("もう消えたい"))
	h, ok := handoffOf(acts)
	if !ok || !h.Urgent || h.Crisis != "suicide" {
		t.Fatalf("crisis during case: %+v", acts)
	}
	if !strings.Contains(replies(acts), "0570-783-556") {
		t.Fatalf("no numbers: %q", replies(acts))
	}
	s, acts = f.Step(s, say("人と話したい"))
	if _, again := handoffOf(acts); again || !strings.Contains(replies(acts), "伝わっています") {
		t.Fatalf("second person request: %+v", acts)
	}
	// Staff close the case; the resident comes back and goes straight to a new case.
	s, acts = f.Step(s, Input{Kind: InputEvent, Event: EventCaseClosed, Now: weekday10})
	if s.HandedOff || s.PrevCase != "K-TEST" || !strings.Contains(replies(acts), "終了") {
		t.Fatalf("closed: %+v %+v", s, acts)
	}
	_, acts = f.Step(s, say("すみません、もう一度"))
	h, ok = handoffOf(acts)
	if !ok || h.Reopen != "K-TEST" {
		t.Fatalf("reopen: %+v", acts)
	}
}

func TestOutOfHoursOncePerDay(t *testing.T) {
	f := mini(t)
	night := time.Date(2026, 11, 25, 23, 0, 0, 0, time.FixedZone("JST", 9*3600))
	s, acts := f.Step(Session{}, Input{Kind: InputText, Text: "人と話したい", Now: night})
	got := replies(acts)
	if !strings.Contains(got, "時間外") || !strings.Contains(got, "11月26日（木）8時30分") {
		t.Fatalf("out-of-hours reply = %q", got)
	}
	_, acts = f.Step(s, Input{Kind: InputText, Text: "よろしく", Now: night.Add(time.Minute)})
	if strings.Contains(replies(acts), "時間外") {
		t.Fatalf("out-of-hours repeated: %q", replies(acts))
	}
	s2, acts := f.Step(Session{}, Input{Kind: InputText, Text: "人と話したい", Now: weekday10})
	if strings.Contains(replies(acts), "時間外") || s2.OutOfHoursDay != "" {
		t.Fatalf("in hours but said closed: %q", replies(acts))
	}
}

func TestCompoundPattern(t *testing.T) {
	f := mini(t)
	s, _ := f.Step(Session{}, say("うちは8050で困っています"))
	_, acts := f.Step(s, say("はい"))
	h, ok := handoffOf(acts)
	if !ok || !h.Compound || len(h.Patterns) != 1 || h.Patterns[0] != "8050" {
		t.Fatalf("compound handoff = %+v", acts)
	}
}

func TestSessionRoundTrip(t *testing.T) {
	f := mini(t)
	s, _ := f.Step(Session{}, say("母の介護がつらい"))
	b, err := MarshalSession(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSession(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != s.State || back.Recent[0] != s.Recent[0] {
		t.Fatalf("round trip: %+v vs %+v", back, s)
	}
	if _, err := UnmarshalSession([]byte(`{"v":99}`)); err == nil {
		t.Fatal("unknown version accepted")
	}
	if _, err := UnmarshalSession([]byte(`{`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
}

func TestLongTextIsClipped(t *testing.T) {
	f := mini(t)
	s, acts := f.Step(Session{}, say(strings.Repeat("あ", 6000)))
	if len(acts) == 0 {
		t.Fatal("no answer to a long message")
	}
	for _, r := range s.Recent {
		if len([]rune(r)) > recentRunes {
			t.Fatalf("kept %d runes", len([]rune(r)))
		}
	}
}

func TestCrisisWordAtTheEndOfALongMessage(t *testing.T) {
	f := mini(t)
	_, acts := f.Step(Session{}, say(strings.Repeat("今日はいろいろあって。", 400)+"もう死にたい"))
	if h, ok := handoffOf(acts); !ok || !h.Urgent {
		t.Fatalf("crisis at rune 4,400 missed: %+v", acts)
	}
}

func TestNumbersAndTimesPerLocale(t *testing.T) {
	f := mini(t)
	_, acts := f.Step(Session{Locale: "en", Greeted: true}, say("kill myself"))
	if got := replies(acts); !strings.Contains(got, "☎ 119 Ambulance (24h)") {
		t.Fatalf("English numbers: %q", got)
	}
	at := time.Date(2026, 11, 26, 8, 30, 0, 0, f.Hours.location)
	for locale, want := range map[string]string{"ja": "11月26日（木）8時30分", "easy-ja": "11がつ26にち（もくようび）8:30", "en": "Thu 26 Nov 08:30"} {
		if got := f.formatTime(at, locale); got != want {
			t.Errorf("formatTime(%s) = %q, want %q", locale, got, want)
		}
	}
}

// lastReply is the last bubble of an answer, which carries the buttons.
func lastReply(acts []Action) Reply {
	var r Reply
	for _, a := range acts {
		if x, ok := a.(Reply); ok {
			r = x
		}
	}
	return r
}

// TestRemovedStateGoesToAPerson: a session left in a state a reloaded flow
// no longer has is handed to a person (the human intent's handoff, general
// category), whatever comes next, and never an error or a restart; a crisis
// still gets the crisis answer first; a handed-off session keeps relaying.
func TestRemovedStateGoesToAPerson(t *testing.T) {
	f := mini(t)
	gone := Session{V: SessionVersion, State: "a_state_removed_since", Greeted: true, Back: "also_removed"}
	tests := []struct {
		name string
		s    Session
		in   Input
		want func(t *testing.T, s Session, acts []Action)
	}{
		{"text", gone, say("あの、続きなんですが"), func(t *testing.T, s Session, acts []Action) {
			h, ok := handoffOf(acts)
			if !ok || !s.HandedOff || s.State != f.Intents.Human.Next {
				t.Fatalf("not handed off: state %q, actions %+v", s.State, acts)
			}
			if len(h.Categories) != 1 || h.Categories[0] != "general" || len(h.Said) == 0 {
				t.Errorf("handoff %+v, want the general category with the words said", h)
			}
		}},
		{"old button", gone, Input{Kind: InputChoice, Text: "a_state_removed_since:0", Now: weekday10}, func(t *testing.T, s Session, acts []Action) {
			if _, ok := handoffOf(acts); !ok || s.State != f.Intents.Human.Next {
				t.Errorf("old button: state %q, actions %+v", s.State, acts)
			}
		}},
		{"sticker", gone, Input{Kind: InputEvent, Event: EventSticker, Now: weekday10}, func(t *testing.T, s Session, acts []Action) {
			if _, ok := handoffOf(acts); !ok {
				t.Errorf("sticker: actions %+v", acts)
			}
		}},
		{"crisis first", gone, say("死にたい"), func(t *testing.T, s Session, acts []Action) {
			h, ok := handoffOf(acts)
			if !ok || h.Crisis == "" {
				t.Errorf("crisis in a removed state: %+v", acts)
			}
		}},
		{"handed off relays", Session{V: SessionVersion, State: "gone", Greeted: true, HandedOff: true, Case: "C1"}, say("まだいます"),
			func(t *testing.T, s Session, acts []Action) {
				if _, ok := handoffOf(acts); ok {
					t.Errorf("a second handoff: %+v", acts)
				}
				relayed := false
				for _, a := range acts {
					if r, ok := a.(Relay); ok && strings.Contains(r.Text, "まだいます") {
						relayed = true
					}
				}
				if !relayed || s.State != f.Intents.Human.Next {
					t.Errorf("not relayed: state %q, %+v", s.State, acts)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, acts := f.Step(tt.s, tt.in)
			if replies(acts) == "" {
				t.Errorf("no answer: %+v", acts)
			}
			tt.want(t, s, acts)
		})
	}
}

// TestEraseSaysWhatIsKept: a city that keeps the staff's record says so
// after the erasure, in every language, instead of saying it is all gone.
func TestEraseSaysWhatIsKept(t *testing.T) {
	f := Default()
	for _, tt := range []struct {
		locale string
		kept   bool
		want   string
	}{
		{"ja", false, "相談員の記録からも、あなたが書いたことは消えています"},
		{"ja", true, "相談員が使う記録（市の業務用のチャット）には、これまでのご相談の内容が残ります"},
		{"easy-ja", false, "そうだんいんの きろくからも"},
		{"easy-ja", true, "そうだんの ないようが のこります"},
		{"en", false, "including your words in the counsellors' records"},
		{"en", true, "stays in the counsellors' records"},
	} {
		t.Run(fmt.Sprintf("%s/kept=%v", tt.locale, tt.kept), func(t *testing.T) {
			s, _ := f.Step(Session{Greeted: true, Locale: tt.locale}, Input{Kind: InputText, Text: "削除", Now: weekday10})
			_, acts := f.Step(s, Input{Kind: InputText, Text: "はい", Now: weekday10, StaffRecordKept: tt.kept})
			got := replies(acts)
			if !strings.Contains(got, tt.want) {
				t.Errorf("reply %q lacks %q", got, tt.want)
			}
			if other := f.Text(map[bool]string{true: "delete_done", false: "delete_done_kept"}[tt.kept], tt.locale); strings.Contains(got, other) {
				t.Errorf("reply says both texts: %q", got)
			}
		})
	}
}
