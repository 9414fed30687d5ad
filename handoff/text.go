package handoff

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// escape makes resident text inert in Slack markup: a resident who writes
// "<!channel>" must not ping a whole channel.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// quote renders resident text as a Slack block quote, escaped.
func quote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + escape(l)
	}
	return strings.Join(lines, "\n")
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// summarise keeps the last max items, each cut to n runes.
func summarise(items []string, max, n int) []string {
	if len(items) > max {
		items = items[len(items)-max:]
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, truncate(it, n))
		}
	}
	return out
}

var (
	slackLink    = regexp.MustCompile(`<([^<>|]+)(?:\|([^<>]*))?>`)
	noteMarker   = regexp.MustCompile(`^(note|メモ)\s*:`)
	markupPrefix = regexp.MustCompile(`^[\s*_~>]+`)
)

// plainText turns a Slack message into what a resident should read on LINE:
// links become "label (url)", a member mentioned reads as name(their id)
// (「<@U0LAN0Z89> さんと」 must not lose who), channel and group mentions
// are dropped, and Slack's HTML escapes are undone.
func plainText(s string, name func(user string) string) string {
	s = slackLink.ReplaceAllStringFunc(s, func(m string) string {
		p := slackLink.FindStringSubmatch(m)
		target, label := p[1], p[2]
		switch {
		case strings.HasPrefix(target, "@"):
			if name == nil {
				return "担当者"
			}
			return name(target[1:])
		case strings.HasPrefix(target, "!"):
			return ""
		case strings.HasPrefix(target, "#"):
			if label != "" {
				return "#" + label
			}
			return ""
		case strings.HasPrefix(target, "mailto:"):
			if label != "" {
				return label
			}
			return strings.TrimPrefix(target, "mailto:")
		case label != "" && label != target:
			return label + " (" + target + ")"
		}
		return target
	})
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}

// isNote reports whether a staff message is an internal note: it starts
// with "note:" or "メモ:", whatever the case or width (ＮＯＴＥ：, ﾒﾓ:), even
// when formatted bold or italic.
func isNote(text string) bool {
	t := norm.NFKC.String(text)
	t = markupPrefix.ReplaceAllString(t, "")
	return noteMarker.MatchString(strings.ToLower(t))
}

// CrisisName says a crisis kind in Japanese, for staff and the statistics.
func CrisisName(kind string) string {
	switch kind {
	case "suicide":
		return "自殺の危険"
	case "self_harm":
		return "自傷"
	case "child_abuse":
		return "子どもの虐待"
	case "elder_abuse":
		return "高齢者の虐待"
	case "dv":
		return "DV"
	case "sexual_violence":
		return "性暴力"
	case "violence":
		return "暴力"
	case "fraud":
		return "詐欺の被害（進行中）"
	case "medical":
		return "医療の緊急"
	}
	return kind
}

// checkedName is the safety check's answer as staff read it.
func checkedName(answer string) string {
	switch answer {
	case "yes":
		return "はい"
	case "unsure":
		return "わからない"
	case "no":
		return "いいえ"
	case "unanswered":
		return "未回答（答えずに書き続けた）"
	case "":
		return "回答待ち"
	}
	return answer
}
