package config

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestEveryVariableDocumentedAndExampled: every variable FromEnv reads is
// in docs/config.md, and deploy/tsunagu.env.example shows exactly the
// variables docs/config.md lists, so a city copying the example sees every
// setting there is.
func TestEveryVariableDocumentedAndExampled(t *testing.T) {
	read := map[string]bool{}
	_, _ = FromEnv(func(name string) string { read[name] = true; return "" })

	names := func(path string, re *regexp.Regexp) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range re.FindAllSubmatch(b, -1) {
			if n := string(m[1]); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	documented := names("../docs/config.md", regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)`"))
	example := names("../deploy/tsunagu.env.example", regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]+)=`))

	for name := range read {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is read but not in docs/config.md", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(example, name) {
			t.Errorf("%s is in docs/config.md but not in deploy/tsunagu.env.example", name)
		}
	}
	for _, name := range example {
		if !slices.Contains(documented, name) {
			t.Errorf("deploy/tsunagu.env.example sets %s, which docs/config.md does not list", name)
		}
	}
}
