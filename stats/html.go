package stats

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed report.html
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(reportHTML))

// HTMLOptions are what the HTML report says besides the figures.
type HTMLOptions struct {
	// Title is the service's name (the flow's name).
	Title string
	// Made is when the report was made, shown on it.
	Made time.Time
}

// figure is a headline number of the report.
type figure struct{ Name, Value, Note string }

// WriteHTML writes the report as one self-contained page: inline SVG
// charts and tables, in Japanese, laid out for A4 paper. It has no script
// and loads nothing.
func (rep *Report) WriteHTML(w io.Writer, o HTMLOptions) error {
	opened := rep.Row(FieldOpened)
	urgent := rep.Row(FieldUrgent)
	ooh := rep.Row(FieldOOH)
	var crises int64
	for _, r := range rep.section("crisis").Rows {
		crises += r.Total
	}
	waits := rep.section("wait").Rows
	var claimed, withinHour int64
	for i, r := range waits {
		claimed += r.Total
		if i < 3 {
			withinHour += r.Total
		}
	}
	figures := []figure{
		{"新規の相談", fmt.Sprintf("%d件", opened.Total), ""},
		{"うち緊急", fmt.Sprintf("%d件", urgent.Total), share(urgent.Total, opened.Total)},
		{"危機の言葉", fmt.Sprintf("%d件", crises), "種類別は下のグラフ"},
		{"時間外に届いた", share(ooh.Total, opened.Total), fmt.Sprintf("%d件", ooh.Total)},
		{"1時間以内に担当", share(withinHour, claimed), fmt.Sprintf("担当が決まった%d件のうち", claimed)},
	}

	var cats []series
	for i, r := range rep.section("category").Rows {
		cats = append(cats, series{Name: r.Label, Color: palette[i%len(palette)], Values: r.Values})
	}
	normal := make([]int64, len(rep.Months))
	for i := range normal {
		normal[i] = opened.Values[i] - urgent.Values[i]
	}
	oohShare := make([]int64, len(rep.Months))
	for i := range oohShare {
		if opened.Values[i] > 0 {
			oohShare[i] = (1000*ooh.Values[i] + opened.Values[i]/2) / opened.Values[i]
		}
	}
	data := struct {
		Title, Period, Made string
		Figures             []figure
		Charts              []struct {
			Title, Note string
			Chart       chart
		}
		Report *Report
		Cols   []int
	}{
		Title:   o.Title,
		Period:  period(rep.Months),
		Made:    o.Made.Format("2006年1月2日"),
		Figures: figures,
		Report:  rep,
	}
	add := func(title, note string, c chart) {
		data.Charts = append(data.Charts, struct {
			Title, Note string
			Chart       chart
		}{title, note, c})
	}
	add("月別の相談件数（分野別）", "最初に担当した分野で数えています。", columns("月別・分野別の相談件数", rep.Months, cats, 250, false))
	add("緊急と通常", "緊急：危機の言葉、または相談者が「いますぐ」を選んだ相談。",
		columns("月別の緊急と通常の相談件数", rep.Months, []series{
			{Name: "緊急", Color: "#c0392b", Values: urgent.Values},
			{Name: "通常", Color: "#7f9fbf", Values: normal},
		}, 200, false))
	add("危機の種類", "期間の合計。相談の途中で危機の言葉があった場合も数えます。", bars("危機の種類別の件数", rep.section("crisis").Rows, "#c0392b", false))
	add("時間外に届いた相談の割合", "相談員のいない時間（夜間・休日）に届いた新規の相談の割合。", columns("月別の時間外の割合", rep.Months, []series{{Name: "時間外", Color: "#6c5b7b", Values: oohShare}}, 190, true))
	add("担当が決まるまでの時間", "相談が届いてから、相談員が「担当する」を押すまで。期間の合計。", bars("担当が決まるまでの時間の分布", waits, "#2e7d5b", true))
	add("相談のきっかけ", "期間の合計。", bars("相談のきっかけ別の件数", rep.section("route").Rows, "#4e79a7", true))
	for i := 0; i <= len(rep.Months); i++ {
		data.Cols = append(data.Cols, i)
	}
	return reportTemplate.Execute(w, data)
}

func (rep *Report) section(id string) Section {
	for _, s := range rep.Sections {
		if s.ID == id {
			return s
		}
	}
	return Section{ID: id}
}

func share(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// period is "2026年4月〜2027年3月".
func period(months []string) string {
	if len(months) == 0 {
		return ""
	}
	name := func(m string) string {
		t, err := ParseMonth(m)
		if err != nil {
			return m
		}
		return fmt.Sprintf("%d年%d月", t.Year(), int(t.Month()))
	}
	if len(months) == 1 {
		return name(months[0])
	}
	return name(months[0]) + "〜" + name(months[len(months)-1])
}
