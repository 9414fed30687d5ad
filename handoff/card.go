package handoff

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Action ids of the card's buttons and selects.
const (
	actClaim        = "claim"
	actTransfer     = "transfer"
	actAddTeam      = "add_team"
	actFollowUp     = "followup"
	actFollowUpDate = "followup_date"
	actClose        = "close"
)

// blockPrefix starts the block_id of the card's action blocks; the rest is
// the case ID, so a button press names its case without any lookup.
const blockPrefix = "case:"

// staffLocale is the language staff read: Japanese.
const staffLocale = "ja"

func (s *Service) catName(id string) string {
	if c, ok := s.flow().Category(id); ok {
		if n := c.Name.In(staffLocale, s.flow().Locale()); n != "" {
			return n
		}
	}
	return id
}

func (s *Service) catNames(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = s.catName(id)
	}
	return strings.Join(names, "、")
}

func (s *Service) patternNames(ids []string) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		n := id
		for _, p := range s.flow().Patterns {
			if p.ID == id {
				if t := p.Name.In(staffLocale, s.flow().Locale()); t != "" {
					n = t
				}
			}
		}
		names = append(names, n)
	}
	return strings.Join(names, "、")
}

func (s *Service) localeName(id string) string {
	for _, l := range s.flow().Locales {
		if l.ID == id {
			return l.Name
		}
	}
	return id
}

func (s *Service) teamName(cat string) string {
	if c, ok := s.flow().Category(cat); ok && c.Team != "" {
		return c.Team
	}
	return s.catName(cat)
}

// localTime writes t in the flow's time zone, the way staff read it.
func (s *Service) localTime(t time.Time) string {
	loc, err := time.LoadLocation(s.flow().Hours.Timezone)
	if err != nil || s.flow().Hours.Timezone == "" {
		loc = time.FixedZone("JST", 9*3600)
	}
	t = t.In(loc)
	wd := []string{"日", "月", "火", "水", "木", "金", "土"}[t.Weekday()]
	return fmt.Sprintf("%d/%d(%s) %02d:%02d", t.Month(), t.Day(), wd, t.Hour(), t.Minute())
}

func statusText(c *Case) string {
	switch c.Status {
	case StatusClaimed:
		return ":large_green_circle: 対応中（担当 <@" + c.Holder + ">）"
	case StatusClosed:
		if c.Holder != "" {
			return ":white_circle: 終了（担当 <@" + c.Holder + ">）"
		}
		return ":white_circle: 終了"
	}
	return ":red_circle: 未対応（担当者なし）"
}

// forgottenText is the status line's addition once the resident erased their data.
func forgottenText(c *Case) string {
	if c.Forgotten.IsZero() {
		return ""
	}
	return "\n:wastebasket: 相談者がデータを削除（返信は届きません）"
}

// card renders the case card and its notification text. It is built from
// the Case alone, which holds no LINE identifier.
func (s *Service) card(c *Case) ([]slack.Block, string) {
	txt := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
	}

	title := "相談 " + c.ID
	if c.Urgent {
		title = "🚨 緊急 相談 " + c.ID
	}
	if c.Status == StatusClosed {
		title += "（終了）"
	}
	notify := title + "｜" + s.catNames(c.Categories)
	blocks := []slack.Block{slack.NewHeaderBlock(plain(title))}

	if c.Urgent && c.Status != StatusClosed {
		m := mention(s.cfg.UrgentMention)
		line := strings.TrimSpace(m + " *緊急対応が必要です*")
		if c.Crisis != "" {
			line += "（" + CrisisName(c.Crisis) + "）"
		}
		blocks = append(blocks, slack.NewSectionBlock(txt(line), nil, nil))
		if m != "" {
			notify = m + " " + notify
		}
	}

	urgency := "通常"
	if c.Urgent {
		urgency = "*緊急*"
	}
	received := s.localTime(c.Created)
	if c.OutOfHours {
		received += " *時間外*"
	}
	teams := make([]string, len(c.Teams))
	for i, t := range c.Teams {
		teams[i] = s.teamName(t)
	}
	fields := []*slack.TextBlockObject{
		txt("*ケースID*\n" + c.ID),
		txt("*状態*\n" + statusText(c) + forgottenText(c)),
		txt("*分野*\n" + s.catNames(c.Categories)),
		txt("*緊急度*\n" + urgency),
		txt("*言語*\n" + s.localeName(c.Locale)),
		txt("*受付*\n" + received),
		txt("*担当チーム*\n" + strings.Join(teams, "、")),
	}
	if c.CheckKind != "" {
		fields = append(fields, txt("*安全の確認*\n"+CrisisName(c.CheckKind)+"："+checkedName(c.Checked)))
	}
	if len(c.Suggested) > 0 {
		fields = append(fields, txt("*候補の分野*\n"+s.catNames(c.Suggested)+"（後の言葉から）"))
	}
	if c.Compound {
		f := "*複合ニーズ*\nあり（多機関協働）"
		if len(c.Patterns) > 0 {
			f = "*複合ニーズ*\n" + s.patternNames(c.Patterns)
		}
		fields = append(fields, txt(f))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))

	var sum strings.Builder
	if c.Erased {
		sum.WriteString("*相談者の言葉*\n" + erasedWords + "\n")
	} else if len(c.Said) > 0 {
		sum.WriteString("*相談者の言葉*\n")
		for _, l := range c.Said {
			sum.WriteString(quote(l) + "\n")
		}
	}
	if len(c.Chose) > 0 {
		sum.WriteString("*選んだ項目*：" + escape(strings.Join(c.Chose, " / ")))
	}
	if sum.Len() > 0 {
		blocks = append(blocks, slack.NewSectionBlock(txt(truncate(strings.TrimSpace(sum.String()), 2900)), nil, nil))
	}

	var ctx []slack.MixedElement
	if c.PrevCase != "" {
		prev := "前回のケース：" + c.PrevCase
		if c.PrevLink != "" {
			prev = "前回のケース：<" + c.PrevLink + "|" + c.PrevCase + ">"
		}
		ctx = append(ctx, txt(":leftwards_arrow_with_hook: "+prev))
	}
	if !c.FollowUpAt.IsZero() && c.Status != StatusClosed {
		ctx = append(ctx, txt(":calendar: フォローアップ予定："+s.localTime(c.FollowUpAt)))
	}
	if c.Forgotten.IsZero() {
		ctx = append(ctx, txt("スレッドへの返信は相談者にLINEで届きます（"+escape(s.flow().Text("staff_role", c.Locale))+"として）。`メモ:` で始まる返信は届きません。"))
	} else {
		ctx = append(ctx, txt("相談者が自分のデータを削除したため、スレッドへの返信は相談者に届きません。"))
	}
	blocks = append(blocks, slack.NewContextBlock("", ctx...))

	if c.Status != StatusClosed {
		blocks = append(blocks, s.actions(c)...)
	}
	return blocks, notify
}

func (s *Service) actions(c *Case) []slack.Block {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
	}
	bid := blockPrefix + c.ID

	var buttons []slack.BlockElement
	if c.Status == StatusOpen {
		claim := slack.NewButtonBlockElement(actClaim, c.ID, plain("担当する"))
		claim.Style = slack.StylePrimary
		buttons = append(buttons, claim)
	}
	closeBtn := slack.NewButtonBlockElement(actClose, c.ID, plain("終了"))
	closeBtn.Style = slack.StyleDanger
	confirm := "相談者に終了と、また相談できることをLINEでお知らせします。"
	if !c.Forgotten.IsZero() {
		confirm = "相談者はデータを削除済みのため、お知らせは送られません。"
	}
	closeBtn.Confirm = slack.NewConfirmationBlockObject(plain("ケースを終了しますか？"),
		slack.NewTextBlockObject(slack.MarkdownType, confirm, false, false),
		plain("終了する"), plain("やめる"))
	buttons = append(buttons, closeBtn)

	var transfer, add []*slack.OptionBlockObject
	for _, cat := range s.flow().Categories {
		label := truncate(cat.Name.In(staffLocale, s.flow().Locale())+"（"+cat.Team+"）", 75)
		if cat.ID != c.Teams[0] {
			transfer = append(transfer, slack.NewOptionBlockObject(cat.ID, plain(label), nil))
		}
		if !contains(c.Teams, cat.ID) {
			add = append(add, slack.NewOptionBlockObject(cat.ID, plain(label), nil))
		}
	}
	var selects []slack.BlockElement
	if len(transfer) > 0 {
		selects = append(selects, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("転送"), actTransfer, transfer...))
	}
	if len(add) > 0 {
		selects = append(selects, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("チーム追加"), actAddTeam, add...))
	}
	var fu []*slack.OptionBlockObject
	for i, f := range s.cfg.FollowUps {
		fu = append(fu, slack.NewOptionBlockObject(fmt.Sprint(i), plain(f.Label), nil))
	}
	follow := []slack.BlockElement{slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("フォローアップ"), actFollowUp, fu...)}
	dp := slack.NewDatePickerBlockElement(actFollowUpDate)
	dp.Placeholder = plain("日付を選んでフォローアップ")
	follow = append(follow, dp)

	blocks := []slack.Block{
		slack.NewActionBlock(bid, buttons...),
		slack.NewActionBlock(bid+":move", selects...),
	}
	if c.Forgotten.IsZero() {
		// A check-in could not reach a resident who erased their data.
		blocks = append(blocks, slack.NewActionBlock(bid+":follow", follow...))
	}
	return blocks
}

// movedCard is what an old home card says after a transfer.
func (s *Service) movedCard(c *Case, to Post) ([]slack.Block, string) {
	text := fmt.Sprintf(":arrow_right: 相談 %s は *%s* に転送されました。続きは <%s|新しいスレッド> へ。", c.ID, s.teamName(to.Category), to.Permalink)
	return []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "相談 "+c.ID+"（転送済み）", true, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
	}, "相談 " + c.ID + "（転送済み）"
}

func (s *Service) coordinationText(c *Case) string {
	what := s.catNames(c.Categories)
	if len(c.Patterns) > 0 {
		what = s.patternNames(c.Patterns) + "：" + what
	}
	urgent := ""
	if c.Urgent {
		urgent = " :rotating_light: 緊急"
	}
	link := ""
	if c.Home != nil {
		link = "\n対応は1つのスレッドで：<" + c.Home.Permalink + "|" + s.teamName(c.Home.Category) + "のスレッド>"
	}
	return fmt.Sprintf(":jigsaw: *複合ケース %s*%s（%s）%s", c.ID, urgent, what, link)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
