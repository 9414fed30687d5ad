package bot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/tsunagu-city/tsunagu/flows"
)

// sdkMessages is what the SDK's structs would have sent for replies.
func sdkMessages(replies []flows.Reply) []messaging_api.MessageInterface {
	out := make([]messaging_api.MessageInterface, 0, len(replies))
	for _, r := range replies {
		m := messaging_api.TextMessage{Text: truncate(r.Text, 5000)}
		if len(r.QuickReplies) > 0 {
			qr := &messaging_api.QuickReply{}
			for i, c := range r.QuickReplies {
				if i == 13 {
					break
				}
				qr.Items = append(qr.Items, messaging_api.QuickReplyItem{Type: "action", Action: &messaging_api.PostbackAction{
					Label: truncate(c.Label, 20), Data: truncate(c.Data, 300), DisplayText: truncate(c.Label, 300)}})
			}
			m.QuickReply = qr
		}
		out = append(out, m)
	}
	return out
}

// TestHandWrittenBodiesMatchTheSDK: the reply and push bodies written by
// hand say what the SDK's encoding of the same messages says.
func TestHandWrittenBodiesMatchTheSDK(t *testing.T) {
	var buttons []flows.Choice
	for i := range 15 {
		buttons = append(buttons, flows.Choice{Label: strings.Repeat("長", 18+i%5), Data: "choose " + string(rune('a'+i))})
	}
	tests := []struct {
		name    string
		replies []flows.Reply
	}{
		{"plain", []flows.Reply{{Text: "こんにちは"}}},
		{"escapes", []flows.Reply{{Text: "\"quoted\" \\ back\nline\ttab <b>&amp; \x01 \u2028 \u2029 🙂"}}},
		{"invalid utf-8", []flows.Reply{{Text: "bad \xff\xfe byte"}}},
		{"long text", []flows.Reply{{Text: strings.Repeat("あ", 6000)}}},
		{"buttons past the limits", []flows.Reply{{Text: "選んでください", QuickReplies: buttons}}},
		{"several", []flows.Reply{{Text: "one"}, {Text: "two", QuickReplies: buttons[:2]}, {Text: "three"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mine, theirs any
			body := appendMessages(nil, tt.replies)
			if err := json.Unmarshal(body, &mine); err != nil {
				t.Fatalf("hand-written body is not JSON: %v\n%s", err, body)
			}
			req := messaging_api.ReplyMessageRequest{ReplyToken: "rt", Messages: sdkMessages(tt.replies)}
			sdk, err := json.Marshal(&req)
			if err != nil {
				t.Fatal(err)
			}
			var whole map[string]any
			if err := json.Unmarshal(sdk, &whole); err != nil {
				t.Fatal(err)
			}
			theirs = whole["messages"]
			if !reflect.DeepEqual(mine, theirs) {
				t.Errorf("hand-written:\n%s\nSDK:\n%s", body, sdk)
			}
		})
	}
}

// FuzzJSONString checks the string encoder byte for byte against encoding/json.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\/", "\x00\x1f\x7f", "<>&", "\u2028\u2029", "\xff", "日本語🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// BenchmarkReplyBody compares writing a reply body by hand with the SDK's
// encoding of the same messages (the start state's answer: text and 13
// buttons).
func BenchmarkReplyBody(b *testing.B) {
	f := flows.Default()
	_, acts := f.Step(flows.Session{}, flows.Input{Kind: flows.InputText, Text: "こんにちは"})
	var replies []flows.Reply
	for _, a := range acts {
		if r, ok := a.(flows.Reply); ok {
			replies = append(replies, r)
		}
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = append(buf[:0], `{"replyToken":`...)
			buf = appendJSONString(buf, "rt")
			buf = append(buf, `,"messages":`...)
			buf = appendMessages(buf, replies)
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&messaging_api.ReplyMessageRequest{ReplyToken: "rt", Messages: sdkMessages(replies)})
		}
	})
}
