package stats

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tsunagu-city/tsunagu/internal/headless"
)

func yearHTML(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	err := readYear(t).WriteHTML(&b, HTMLOptions{Title: "〇〇市 断らない相談窓口「つなぐ」", Made: time.Date(2027, 4, 5, 9, 0, 0, 0, jst)})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHTMLIsOneFileWithoutScript(t *testing.T) {
	page := string(yearHTML(t))
	for _, bad := range []string{"<script", "javascript:", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the report contains %q: it must be one file that loads nothing and runs nothing", bad)
		}
	}
	for _, want := range []string{"<svg", "@page { size: A4", "2026年4月〜2027年3月", "危機の種類", "担当が決まるまでの時間", "時間外", "2027年4月5日"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestHTMLInBrowser opens the report in headless Chromium at the width of
// an A4 page, checks that the charts are drawn and nothing spills over the
// page's edge, and keeps a screenshot and the printed PDF as artifacts.
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	dir := t.ArtifactDir()
	file := filepath.Join(dir, "stats-report.html")
	if err := os.WriteFile(file, yearHTML(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// 794 CSS pixels are the 210 mm of an A4 page.
	tab := headless.Tab(t, ctx, 794, 1123)
	if err := chromedp.Do(tab, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	check := func(what, js string) float64 {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[float64](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	if n := check("charts", `document.querySelectorAll("svg").length`); n != 6 {
		t.Errorf("%v charts drawn, want 6", n)
	}
	if n := check("bars", `Math.min(...[...document.querySelectorAll("svg")].map(s => s.querySelectorAll("rect").length))`); n < 2 {
		t.Errorf("a chart has %v bars", n)
	}
	if n := check("chart height", `Math.min(...[...document.querySelectorAll("svg")].map(s => s.getBoundingClientRect().height))`); n < 60 {
		t.Errorf("a chart is only %vpx high", n)
	}
	if over := check("overflow", `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the page is %vpx wider than A4", over)
	}
	// Text inside the charts stays inside them (labels are not cut off).
	if n := check("clipped labels", `[...document.querySelectorAll("svg")].map(s => { const b = s.getBoundingClientRect();
		return [...s.querySelectorAll("text")].filter(x => { const r = x.getBoundingClientRect(); return r.left < b.left - 1 || r.right > b.right + 1; }).length; }).reduce((a, b) => a + b, 0)`); n > 0 {
		t.Errorf("%v chart labels run outside their chart", n)
	}
	height := check("height", `document.documentElement.scrollHeight`)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(794, int64(height))); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(dir, "stats-report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	pdf, err := chromedp.Run(tab, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stats-report.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	// A year of figures is a handful of printed pages, not dozens.
	if pages := bytes.Count(pdf, []byte("/Type /Page\n")) + bytes.Count(pdf, []byte("/Type /Page>")) + bytes.Count(pdf, []byte("/Type /Page ")); pages > 6 {
		t.Errorf("the report prints on %d A4 pages", pages)
	}
}
