package stats

import (
	"fmt"
	"math"
	"strings"
)

// The report's charts are inline SVG whose geometry is worked out here, so
// the page needs no script and prints as it shows.

// chart is one SVG drawing: shapes in a W×H box.
type chart struct {
	W, H   float64
	Label  string // what the chart shows, for screen readers
	Rects  []rect
	Texts  []text
	Lines  []line
	Legend []legendItem
}

type rect struct {
	X, Y, W, H  float64
	Fill, Title string
}

type text struct {
	X, Y         float64
	Anchor, Text string
	// Class is "axis", "value" or "label".
	Class string
}

type line struct{ X1, Y1, X2, Y2 float64 }

type legendItem struct{ Color, Name string }

// series is one named, coloured run of values over the months.
type series struct {
	Name   string
	Color  string
	Values []int64
}

// palette holds colours that stay apart on screen and in greyscale print.
var palette = []string{
	"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
	"#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1b5e8a", "#8cd17d",
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten, so the axis has
// round numbers; at least 1.
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// axisTicks are the top of a value axis and its step: the smallest step
// of 1, 2 or 5 times a power of ten that reaches v in at most five steps.
func axisTicks(v float64) (top, step float64) {
	step = 1
	for p := 1.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if step = m * p; math.Ceil(v/step) <= 5 {
				return math.Max(1, math.Ceil(v/step)) * step, step
			}
		}
	}
}

// monthLabel is "4月", with the year under the first month and each January.
func monthLabel(m string, first bool) (string, string) {
	t, err := ParseMonth(m)
	if err != nil {
		return m, ""
	}
	year := ""
	if first || t.Month() == 1 {
		year = fmt.Sprintf("%d年", t.Year())
	}
	return fmt.Sprintf("%d月", int(t.Month())), year
}

// Geometry of the column charts.
const (
	chartW   = 680.0
	plotLeft = 44.0
	plotTop  = 14.0
	plotBot  = 40.0 // room for month and year labels
)

// columns draws stacked columns, one per month, with a value axis. With
// percent set, each series' values are read as tenths of a percent.
func columns(label string, months []string, ss []series, height float64, percent bool) chart {
	c := chart{W: chartW, H: height, Label: label}
	plotH := height - plotTop - plotBot
	plotW := chartW - plotLeft - 8
	var top float64
	for i := range months {
		var sum float64
		for _, s := range ss {
			sum += float64(s.Values[i])
		}
		top = max(top, sum)
	}
	top, step := axisTicks(top)
	for v := 0.0; v <= top+step/2; v += step {
		y := plotTop + plotH - plotH*v/top
		c.Lines = append(c.Lines, line{plotLeft, y, plotLeft + plotW, y})
		c.Texts = append(c.Texts, text{X: plotLeft - 6, Y: y + 4, Anchor: "end", Text: axisValue(v, percent), Class: "axis"})
	}
	slot := plotW / float64(max(len(months), 1))
	barW := math.Min(slot*0.62, 40)
	for i, m := range months {
		x := plotLeft + slot*float64(i) + (slot-barW)/2
		y := plotTop + plotH
		var sum int64
		for _, s := range ss {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			h := plotH * float64(v) / top
			y -= h
			c.Rects = append(c.Rects, rect{X: x, Y: y, W: barW, H: h, Fill: s.Color,
				Title: fmt.Sprintf("%s %s：%s", m, s.Name, axisValue(float64(v), percent))})
			sum += v
		}
		if sum > 0 || percent {
			c.Texts = append(c.Texts, text{X: x + barW/2, Y: y - 3, Anchor: "middle", Text: axisValue(float64(sum), percent), Class: "value"})
		}
		name, year := monthLabel(m, i == 0)
		c.Texts = append(c.Texts, text{X: x + barW/2, Y: plotTop + plotH + 15, Anchor: "middle", Text: name, Class: "axis"})
		if year != "" {
			c.Texts = append(c.Texts, text{X: x + barW/2, Y: plotTop + plotH + 29, Anchor: "middle", Text: year, Class: "axis"})
		}
	}
	if len(ss) > 1 {
		for _, s := range ss {
			c.Legend = append(c.Legend, legendItem{s.Color, s.Name})
		}
	}
	return c
}

func axisValue(v float64, percent bool) string {
	if percent {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v/10), ".0") + "%"
	}
	return fmt.Sprint(int64(math.Round(v)))
}

// bars draws one horizontal bar per row with its total, and its share of
// all when withShare is set.
func bars(label string, rows []Row, color string, withShare bool) chart {
	const (
		labelW = 200.0
		rowH   = 24.0
		barH   = 15.0
	)
	c := chart{W: chartW, H: rowH*float64(max(len(rows), 1)) + 8, Label: label}
	var top, all float64
	for _, r := range rows {
		top = max(top, float64(r.Total))
		all += float64(r.Total)
	}
	top = niceMax(top)
	plotW := chartW - labelW - 110
	for i, r := range rows {
		y := 4 + rowH*float64(i)
		c.Texts = append(c.Texts, text{X: labelW - 8, Y: y + barH - 3, Anchor: "end", Text: r.Label, Class: "label"})
		w := plotW * float64(r.Total) / top
		c.Rects = append(c.Rects, rect{X: labelW, Y: y, W: math.Max(w, 0.5), H: barH, Fill: color,
			Title: fmt.Sprintf("%s：%d", r.Label, r.Total)})
		v := fmt.Sprint(r.Total)
		if withShare && all > 0 {
			v += fmt.Sprintf("（%.0f%%）", 100*float64(r.Total)/all)
		}
		c.Texts = append(c.Texts, text{X: labelW + w + 6, Y: y + barH - 3, Anchor: "start", Text: v, Class: "value"})
	}
	c.Lines = append(c.Lines, line{labelW, 2, labelW, c.H - 2})
	return c
}
