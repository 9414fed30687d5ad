package contract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/slack-go/slack"

	"github.com/tsunagu-city/tsunagu/bot"
	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/contract"
	"github.com/tsunagu-city/tsunagu/handoff/slackfake"
)

// specs loads the checkers; without the shared specs folder the test is
// skipped, saying so (CI's checkout sits next to it, so it normally runs).
func specs(t *testing.T) (*contract.LINE, *contract.Slack) {
	t.Helper()
	l, s, err := contract.Load()
	if errors.Is(err, contract.ErrNoSpecs) {
		t.Skip("contract tests skipped: the vendor specs folder ../shared/specs (beside the repository) is missing")
	}
	if err != nil {
		t.Fatal(err)
	}
	return l, s
}

var lineHeader = http.Header{"Content-Type": {"application/json; charset=UTF-8"}, "Authorization": {"Bearer " + linefake.Token}}

func texts(n int, text string) string {
	var ms []string
	for range n {
		ms = append(ms, `{"type":"text","text":`+quote(text)+`}`)
	}
	return "[" + strings.Join(ms, ",") + "]"
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Each seeded violation is caught, and what tsunagu sends passes.
func TestLINEChecker(t *testing.T) {
	l, _ := specs(t)
	button := func(label string) string {
		return `[{"type":"text","text":"選んで","quickReply":{"items":[{"type":"action","action":{"type":"postback","label":` +
			quote(label) + `,"data":"x","displayText":"x"}}]}}]`
	}
	tests := []struct {
		name, path, body string
		bad              string // a part of the error, "" when it passes
	}{
		{"push", "/v2/bot/message/push", `{"to":"U1","messages":` + texts(5, "こんにちは") + `}`, ""},
		{"reply with a button", "/v2/bot/message/reply", `{"replyToken":"r","messages":` + button("はい") + `}`, ""},
		{"text of 5,000 UTF-16 units", "/v2/bot/message/push", `{"to":"U1","messages":` + texts(1, strings.Repeat("😀", 2500)) + `}`, ""},
		{"leave", "/v2/bot/group/C1/leave", ``, ""},
		{"text over 5,000 UTF-16 units", "/v2/bot/message/push", `{"to":"U1","messages":` + texts(1, strings.Repeat("😀", 2501)) + `}`, "5002 UTF-16 units"},
		{"six messages", "/v2/bot/message/reply", `{"replyToken":"r","messages":` + texts(6, "a") + `}`, "maximum number of items is 5"},
		{"no recipient", "/v2/bot/message/push", `{"messages":` + texts(1, "a") + `}`, `"to"`},
		{"label of 21 units", "/v2/bot/message/reply", `{"replyToken":"r","messages":` + button(strings.Repeat("あ", 19)+"😀") + `}`, "label: 21 UTF-16 units"},
		{"customAggregationUnits null", "/v2/bot/message/push", `{"to":"U1","messages":` + texts(1, "a") + `,"customAggregationUnits":null}`, "customAggregationUnits"},
		{"unknown path", "/v2/bot/message/shout", `{}`, "not in the Messaging API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Check(http.MethodPost, tt.path, lineHeader, []byte(tt.body))
			checkVerdict(t, err, tt.bad)
		})
	}
}

// The SDK's own push body carries "customAggregationUnits": null, which the
// spec types as an array: tsunagu writes its push bodies by hand and leaves
// the field out (checked in every test through the fake).
func TestSDKPushBodyBreaksTheSpec(t *testing.T) {
	l, _ := specs(t)
	sdk, err := json.Marshal(&messaging_api.PushMessageRequest{To: "U1", Messages: []messaging_api.MessageInterface{messaging_api.TextMessage{Text: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sdk), `"customAggregationUnits":null`) {
		t.Skipf("the SDK no longer sends customAggregationUnits null: %s", sdk)
	}
	if err := l.Check(http.MethodPost, "/v2/bot/message/push", lineHeader, sdk); err == nil {
		t.Error("the SDK's null customAggregationUnits passed the check")
	}
}

func blocks(bs ...string) string { return "[" + strings.Join(bs, ",") + "]" }

func TestSlackChecker(t *testing.T) {
	_, s := specs(t)
	auth := http.Header{"Authorization": {"Bearer xoxb-1"}}
	header := func(n int) string {
		return `{"type":"header","text":{"type":"plain_text","text":` + quote(strings.Repeat("あ", n)) + `}}`
	}
	section := func(n int) string {
		return `{"type":"section","text":{"type":"mrkdwn","text":` + quote(strings.Repeat("a", n)) + `}}`
	}
	button := func(n int) string {
		return `{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":` + quote(strings.Repeat("b", n)) + `}}]}`
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = `{"type":"divider"}`
	}
	tests := []struct {
		name, method string
		form         url.Values
		bad          string
	}{
		{"post", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"hi"}, "thread_ts": {"1.2"}}, ""},
		{"card at the limits", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {blocks(header(150), section(3000), button(75))}}, ""},
		{"update", "chat.update", url.Values{"channel": {"C1"}, "ts": {"1.2"}, "text": {"x"}}, ""},
		{"unknown method", "chat.shout", url.Values{"channel": {"C1"}}, "no such Web API method"},
		{"unknown argument", "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}, "colour": {"red"}}, `"colour"`},
		{"no channel", "chat.postMessage", url.Values{"text": {"x"}}, `"channel" missing`},
		{"update without ts", "chat.update", url.Values{"channel": {"C1"}, "text": {"x"}}, `"ts" missing`},
		{"header of 151", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {blocks(header(151))}}, "151 characters"},
		{"section of 3,001", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {blocks(section(3001))}}, "3001 characters"},
		{"button of 76", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {blocks(button(76))}}, "76 characters"},
		{"51 blocks", "chat.postMessage", url.Values{"channel": {"C1"}, "blocks": {blocks(many...)}}, "blocks: 51"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.method, auth, tt.form)
			checkVerdict(t, err, tt.bad)
		})
	}
	if err := s.Check("chat.postMessage", http.Header{}, url.Values{"channel": {"C1"}, "text": {"x"}}); err == nil || !strings.Contains(err.Error(), `"token"`) {
		t.Errorf("a call without a token: %v", err)
	}
}

// seenTB stands in for a test, to see what the fakes report when it ends.
type seenTB struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (s *seenTB) Helper()          {}
func (s *seenTB) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }
func (s *seenTB) Errorf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}
func (s *seenTB) Log(args ...any) {}

func (s *seenTB) end() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// The fakes check what they recorded when a test ends: the real senders
// pass, a seeded violation fails the test.
func TestFakesCheckTheirCalls(t *testing.T) {
	specs(t)
	ctx := context.Background()

	good := &seenTB{TB: t}
	line := linefake.New(good)
	sender, err := bot.NewLINE(bot.LINEOptions{Token: linefake.Token, BaseURL: line.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Push(ctx, "U1", "k", strings.Repeat("😀", 3000), "二通目"); err != nil {
		t.Fatal(err)
	}
	if err := sender.Leave(ctx, "room", "R1"); err != nil {
		t.Fatal(err)
	}
	good.end()
	if len(good.errs) > 0 {
		t.Errorf("the LINE sender's calls broke the contract: %q", good.errs)
	}

	bad := &seenTB{TB: t}
	line = linefake.New(bad)
	req, _ := http.NewRequest(http.MethodPost, line.URL+linefake.PathPush,
		strings.NewReader(`{"to":"U1","messages":[{"type":"text","text":"a"}],"customAggregationUnits":null}`))
	req.Header = lineHeader.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	bad.end()
	if len(bad.errs) != 1 || !strings.Contains(bad.errs[0], "customAggregationUnits") {
		t.Errorf("a seeded LINE violation was reported as %q", bad.errs)
	}

	good = &seenTB{TB: t}
	sf := slackfake.New(good, "xoxb-1")
	api := slack.New("xoxb-1", slack.OptionAPIURL(sf.APIURL()))
	ch, ts, err := api.PostMessageContext(ctx, "#soudan", slack.MsgOptionText("hi", false),
		slack.MsgOptionBlocks(slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "相談", false, false))))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx, "warning", slack.ItemRef{Channel: ch, Timestamp: ts}); err != nil {
		t.Fatal(err)
	}
	good.end()
	if len(good.errs) > 0 {
		t.Errorf("slack-go's calls broke the contract: %q", good.errs)
	}

	bad = &seenTB{TB: t}
	sf = slackfake.New(bad, "xoxb-1")
	api = slack.New("xoxb-1", slack.OptionAPIURL(sf.APIURL()))
	long := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("長", 151), false, false))
	if _, _, err := api.PostMessageContext(ctx, "#soudan", slack.MsgOptionBlocks(long)); err != nil {
		t.Fatal(err)
	}
	bad.end()
	if len(bad.errs) != 1 || !strings.Contains(bad.errs[0], "151 characters") {
		t.Errorf("a seeded Block Kit violation was reported as %q", bad.errs)
	}
}

// checkVerdict holds a checker's answer to what a case expects: no error
// when bad is empty, otherwise an error that names bad.
func checkVerdict(t *testing.T, err error, bad string) {
	t.Helper()
	switch {
	case bad == "" && err != nil:
		t.Errorf("refused: %v", err)
	case bad != "" && err == nil:
		t.Errorf("passed, want an error about %s", bad)
	case bad != "" && !strings.Contains(err.Error(), bad):
		t.Errorf("error %q does not name %s", err, bad)
	}
}
