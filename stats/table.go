package stats

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/width"
)

// WriteTable prints the report as plain-text tables, one per section, with
// a column per month and the total; columns are aligned by display width,
// so Japanese names line up in a terminal.
func (rep *Report) WriteTable(w io.Writer) error {
	head := []string{"項目"}
	for _, m := range rep.Months {
		head = append(head, m)
	}
	head = append(head, "合計")
	var b strings.Builder
	for i, s := range rep.Sections {
		if len(s.Rows) == 0 {
			continue
		}
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "■ %s\n", s.Title)
		lines := [][]string{head}
		for _, r := range s.Rows {
			line := []string{r.Label}
			for j := 0; j <= len(rep.Months); j++ {
				line = append(line, r.Cell(j))
			}
			lines = append(lines, line)
		}
		writeAligned(&b, lines)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAligned writes lines as columns: the first left-aligned, the others
// right-aligned, two spaces apart.
func writeAligned(b *strings.Builder, lines [][]string) {
	widths := make([]int, len(lines[0]))
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	for _, l := range lines {
		for i, c := range l {
			pad := strings.Repeat(" ", widths[i]-displayWidth(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
}

// displayWidth is how many terminal columns s takes: two for wide and
// full-width characters (漢字, かな, ＡＢＣ), one for the rest.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// WriteCSV writes the report as one CSV table: section, section title,
// counter key, row name, a column per month, total. Shares are written as
// percentages with one decimal, "-" where nothing was counted.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"section", "区分", "key", "項目"}
	head = append(head, rep.Months...)
	head = append(head, "合計")
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, s := range rep.Sections {
		for _, r := range s.Rows {
			rec := []string{s.ID, s.Title, r.Key, r.Label}
			for j := 0; j <= len(rep.Months); j++ {
				rec = append(rec, strings.TrimSuffix(r.Cell(j), "%"))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
