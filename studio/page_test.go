package studio

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Every word the page shows is written in Japanese and in English.
func TestPageWordsInBothLanguages(t *testing.T) {
	js, err := assets.ReadFile("assets/studio.js")
	if err != nil {
		t.Fatal(err)
	}
	html, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	src := string(js)
	ja, en := block(t, src, "  ja: {\n"), block(t, src, "  en: {\n")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bt\("([a-z_0-9]+)"`).FindAllStringSubmatch(src, -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`data-i18n(?:-title|-placeholder)?="([a-z_0-9]+)"`).FindAllStringSubmatch(string(html), -1) {
		used[m[1]] = true
	}
	if len(used) < 50 {
		t.Fatalf("found only %d words in use; the pattern is out of date", len(used))
	}
	for key := range used {
		for lang, words := range map[string]string{"ja": ja, "en": en} {
			if !regexp.MustCompile(`\b` + key + `:`).MatchString(words) {
				t.Errorf("%q has no %s words", key, lang)
			}
		}
	}
}

// block is the text of one language's words in studio.js.
func block(t *testing.T, src, start string) string {
	t.Helper()
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatalf("studio.js has no %q", start)
	}
	end := strings.Index(src[i:], "\n  },\n")
	if end < 0 {
		t.Fatalf("the block %q does not end", start)
	}
	return src[i : i+end]
}

// The studio never reads residents' data: it cannot, having no Redis
// client and none of the service's packages in its build.
func TestStudioCannotReachResidentsData(t *testing.T) {
	if testing.Short() {
		t.Skip("go list in -short mode")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range []string{"github.com/redis/go-redis/v9", "github.com/tsunagu-city/tsunagu/bot", "github.com/tsunagu-city/tsunagu/handoff", "github.com/tsunagu-city/tsunagu/config"} {
		if strings.Contains(string(out), pkg+"\n") {
			t.Errorf("the studio depends on %s", pkg)
		}
	}
}
