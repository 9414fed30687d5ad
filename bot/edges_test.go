package bot

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// fixture reads a webhook body written in the shape of the LINE SDKs' own
// webhook test fixtures.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answerTo returns the texts of the successful calls answering a reply
// token.
func (r *rig) answerTo(token string) []string {
	for _, c := range r.fake.Sent() {
		if c.ReplyToken == token {
			return c.Texts()
		}
	}
	return nil
}

// A message sticker's words are read like text: "死にたい" on a sticker
// gets the same crisis answer as the words typed.
func TestStickerTextIsTriagedLikeText(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	if got := r.post(fixture(t, "sticker_text.json")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.post(textEvent("01JTYPED", "U000000000000000000000000571c4e02", "rt-typed", "死にたい"))
	r.eventually("both answers", func() bool { return r.answerTo("rt-sticker-1") != nil && r.answerTo("rt-typed") != nil })
	sticker, typed := r.answerTo("rt-sticker-1"), r.answerTo("rt-typed")
	if !slices.Equal(sticker, typed) {
		t.Errorf("the sticker with text got %q, the typed words %q", sticker, typed)
	}
	if !strings.Contains(strings.Join(sticker, "\n"), "119") {
		t.Errorf("the sticker with 死にたい got %q, want the crisis answer", sticker)
	}
}

// With a case open, a sticker's words reach staff, and crisis words on it
// still get the crisis answer.
func TestStickerTextInAnOpenCase(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	staff := &relayLog{Handoffs: r.handoffs}
	caseID := r.openCase(staff)
	r.startWorkers("w", staff, nil)
	body := strings.ReplaceAll(string(fixture(t, "sticker_text.json")), "U000000000000000000000000571c4e01", alice)
	r.post([]byte(body))
	r.eventually("the sticker answered", func() bool { return r.answerTo("rt-sticker-1") != nil && r.backlog() == 0 })
	if !strings.Contains(strings.Join(r.answerTo("rt-sticker-1"), "\n"), "119") {
		t.Errorf("a crisis sticker in an open case got %q, want the crisis answer", r.answerTo("rt-sticker-1"))
	}
	if !slices.Contains(staff.texts(), "死にたい") || !slices.Contains(staff.ids, "3257088") {
		t.Errorf("relays %q (ids %q), want the sticker's words with its message id", staff.texts(), staff.ids)
	}
	if rec, _ := r.store.Load(context.Background(), alice); rec.Session.Case != caseID {
		t.Errorf("case %q after the sticker, want %q", rec.Session.Case, caseID)
	}
}

// Events in standby (another channel holds the chat) are stored and seen,
// never answered: no reply, no push, no group left, even for crisis words.
func TestStandbyEventsAreNotAnswered(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	if got := r.post(fixture(t, "standby.json")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the events worked", func() bool { return r.backlog() == 0 })
	settle()
	if calls := r.fake.Calls(""); len(calls) != 0 {
		t.Errorf("LINE was called in standby: %d calls, first %s", len(calls), calls[0].Path)
	}
	for _, user := range []string{"U0000000000000000000000005ba4db01", "U0000000000000000000000005ba4db04"} {
		rec, err := r.store.Load(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version == 0 || rec.Session.Case != "" {
			t.Errorf("standby event of %s: record version %d case %q, want it stored and nothing opened", user[len(user)-4:], rec.Version, rec.Session.Case)
		}
	}
	if !strings.Contains(r.logs.String(), "standby event stored; not answered") {
		t.Error("standby events not logged")
	}
	// A redelivery after the bot is active again is not answered late.
	body := strings.ReplaceAll(string(fixture(t, "standby.json")), `"mode": "standby"`, `"mode": "active"`)
	r.post([]byte(body))
	r.eventually("the redelivery worked", func() bool { return r.backlog() == 0 })
	settle()
	for _, c := range r.fake.Calls("") {
		if c.ReplyToken == "rt-standby-1" || c.ReplyToken == "rt-standby-4" {
			t.Errorf("a standby event was answered when delivered again: %s", c.ReplyToken)
		}
	}
}

// A redelivered event (deliveryContext.isRedelivery) already answered is
// not answered again.
func TestRedeliveryAnsweredOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.workers("w", nil)
	r.post(textEvent("01JREDELIVER00000000000001", "U00000000000000000000000000ede101", "rt-first", "こんにちは"))
	r.eventually("the first answer", func() bool { return r.answerTo("rt-first") != nil && r.backlog() == 0 })
	if got := r.post(fixture(t, "redelivery.json")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the redelivery worked", func() bool { return r.backlog() == 0 })
	settle()
	if n := len(r.fake.Sent()); n != 1 {
		t.Errorf("%d answers, want 1 (the redelivery is a repeat)", n)
	}
}

// A resident's unsend reaches the staff side with the id of the message
// taken back; an unsend in a group is not acted on.
func TestUnsendReachesStaff(t *testing.T) {
	r := newRig(t, rigOptions{shards: 1})
	staff := &relayLog{Handoffs: r.handoffs}
	caseID := r.openCase(staff)
	r.startWorkers("w", staff, nil)
	r.post(textEvent("01JSECRET", alice, "rt-secret", "ひみつのはなし"))
	r.eventually("the words relayed", func() bool { return slices.Contains(staff.texts(), "ひみつのはなし") })
	if !slices.Contains(staff.ids, "m-01JSECRET") {
		t.Fatalf("relayed ids %q, want the message id", staff.ids)
	}
	sent := len(r.fake.Sent())
	if got := r.post(fixture(t, "unsend.json")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	r.eventually("the unsend handed over", func() bool { staff.mu.Lock(); defer staff.mu.Unlock(); return len(staff.unsent) > 0 })
	r.eventually("the events worked", func() bool { return r.backlog() == 0 })
	settle()
	staff.mu.Lock()
	unsent := slices.Clone(staff.unsent)
	staff.mu.Unlock()
	if want := []string{caseID + " m-01JSECRET"}; !slices.Equal(unsent, want) {
		t.Errorf("unsends %q, want %q", unsent, want)
	}
	if n := len(r.fake.Sent()); n != sent {
		t.Errorf("%d answers to an unsend, want none", n-sent)
	}
	rec, _ := r.store.Load(context.Background(), alice)
	if rec.Session.Case != caseID {
		t.Errorf("after the unsend the case is %q, want %q kept", rec.Session.Case, caseID)
	}
}

// A staff reply of 3,000 emoji (6,000 UTF-16 units, over LINE's 5,000) goes
// out whole, in two bubbles, each within LINE's limit as LINE counts.
func TestLongPushSplitIntoBubbles(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	emoji := strings.Repeat("😀", 3000)
	cut, err := r.line.Push(ctx, alice, "slack:emoji", "【相談員】\n"+emoji)
	if err != nil || cut != 0 {
		t.Fatalf("push: cut %d, err %v", cut, err)
	}
	sent := r.fake.Sent()
	if len(sent) != 1 || len(sent[0].Messages) != 2 {
		t.Fatalf("sent %d calls, want one push of 2 bubbles", len(sent))
	}
	got := strings.Join(sent[0].Texts(), "")
	if strings.Count(got, "😀") != 3000 {
		t.Errorf("%d emoji arrived, want 3000", strings.Count(got, "😀"))
	}
	for _, m := range sent[0].Messages {
		if n := UTF16Len(m.Text); n > MaxText {
			t.Errorf("a bubble of %d UTF-16 units", n)
		}
	}
	// Beyond five bubbles the rest is reported, not silently dropped.
	// 300 lines of 101 units: a bubble holds 49 whole lines, five hold
	// 245, and the 55 lines left are reported.
	long := strings.Repeat(strings.Repeat("あ", 99)+"。\n", 300)
	cut, err = r.line.Push(ctx, alice, "slack:long", long)
	if err != nil {
		t.Fatal(err)
	}
	last := r.fake.Sent()[1]
	if len(last.Messages) != 5 || cut != 55*101 {
		t.Errorf("%d bubbles, cut %d; want 5 and %d", len(last.Messages), cut, 55*101)
	}
	for _, m := range last.Messages {
		if !strings.HasSuffix(m.Text, "。") {
			t.Errorf("a bubble ends in %q, want a line break", m.Text[len(m.Text)-6:])
		}
	}
}

func TestBubbles(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		parts int
		cut   int
	}{
		{"short", "こんにちは", 1, 0},
		{"exactly the limit", strings.Repeat("a", MaxText), 1, 0},
		{"one unit over", strings.Repeat("a", MaxText+1), 2, 0},
		{"emoji count two", strings.Repeat("😀", MaxText/2+1), 2, 0},
		{"five full", strings.Repeat("a", 5*MaxText), 5, 0},
		{"beyond five", strings.Repeat("a", 5*MaxText+7), 5, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, cut := Bubbles(tt.in)
			if len(parts) != tt.parts || cut != tt.cut {
				t.Fatalf("%d parts, cut %d; want %d, %d", len(parts), cut, tt.parts, tt.cut)
			}
			total := 0
			for _, p := range parts {
				n := UTF16Len(p)
				if n > MaxText || n == 0 {
					t.Errorf("a part of %d units", n)
				}
				total += n
			}
			if total+cut != UTF16Len(tt.in) {
				t.Errorf("%d units sent and %d cut of %d", total, cut, UTF16Len(tt.in))
			}
		})
	}
	// A sentence break is preferred to a hard cut.
	parts, _ := Bubbles(strings.Repeat("あ", 4000) + "。" + strings.Repeat("い", 2000))
	if !strings.HasSuffix(parts[0], "。") {
		t.Errorf("first part does not end at the sentence: …%s", parts[0][len(parts[0])-6:])
	}
}

// Quick-reply labels are cut as LINE counts: 20 UTF-16 units, so ten emoji.
func TestLabelsCutInUTF16(t *testing.T) {
	if got := truncate(strings.Repeat("😀", 11), 20); got != strings.Repeat("😀", 10) {
		t.Errorf("truncate to 20 units kept %d emoji, want 10", UTF16Len(got)/2)
	}
	if got := truncate("a😀", 2); got != "a" {
		t.Errorf("truncate split an emoji: %q", got)
	}
}

// LINE's error bodies are read as one line for staff: the message and
// which property broke which rule.
func TestLineError(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message":"The request body has 1 error(s)","details":[{"message":"Length must be between 0 and 5000","property":"messages[0].text"}]}`,
			"The request body has 1 error(s) (messages[0].text: Length must be between 0 and 5000)"},
		{`{"message":"Invalid reply token"}`, "Invalid reply token"},
		{"<html>bad gateway</html>\n", "<html>bad gateway</html>"},
	}
	for _, tt := range tests {
		if got := lineError([]byte(tt.body)); got != tt.want {
			t.Errorf("lineError(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
