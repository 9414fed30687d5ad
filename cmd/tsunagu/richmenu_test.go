package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
)

// copyDefaultFlow copies the default flow folder (with its rich menu) where
// the test may edit it.
func copyDefaultFlow(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "flow")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("..", "..", "flows", "default"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestRichMenuCommand(t *testing.T) {
	fake := linefake.New(t)
	env := map[string]string{"LINE_CHANNEL_ACCESS_TOKEN": linefake.Token, "LINE_API_BASE_URL": fake.URL}
	run := func(env map[string]string, args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := richMenuCommand(t.Context(), args, func(k string) string { return env[k] }, &out, &errs)
		return code, out.String(), errs.String()
	}
	dir := copyDefaultFlow(t)

	if code, out, errs := run(nil, "check"); code != 0 || !strings.Contains(out, "4 areas") {
		t.Errorf("check of the embedded menu: %d %s %s", code, out, errs)
	}
	if code, out, errs := run(nil, "check", "--flow", dir); code != 0 || !strings.Contains(out, filepath.Join(dir, "richmenu.yaml")) {
		t.Errorf("check of a flow folder: %d %s %s", code, out, errs)
	}
	if code, _, errs := run(nil, "apply", "--flow", dir); code != 2 || !strings.Contains(errs, "LINE_CHANNEL_ACCESS_TOKEN is required") {
		t.Errorf("apply without a token: %d %s", code, errs)
	}
	code, out, errs := run(env, "apply", "--flow", filepath.Join(dir, "flow.yaml"))
	if code != 0 || !strings.Contains(out, "is the default now") || fake.DefaultRichMenu() == "" {
		t.Fatalf("apply: %d %s %s", code, out, errs)
	}
	first := fake.DefaultRichMenu()
	if code, out, _ := run(env, "apply"); code != 0 || !strings.Contains(out, "the one it replaced, "+first+", was deleted") {
		t.Errorf("second apply: %d %s", code, out)
	}

	yaml := filepath.Join(dir, "richmenu.yaml")
	b, _ := os.ReadFile(yaml)
	bad := strings.Replace(string(b), "width: 625, height: 843}\n    # The \"delete\"", "width: 700, height: 843}\n    # The \"delete\"", 1)
	bad = strings.Replace(bad, "x: 1250, y: 0", "x: 1200, y: 0", 1)
	if err := os.WriteFile(yaml, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(nil, "check", "--flow", dir)
	if code != 1 || !strings.Contains(errs, yaml+":36:5: area 4 (データを消す) reaches 2575,843, outside the 2500x843 menu") || !strings.Contains(errs, yaml+":32:5: area 3 (使い方) overlaps area 2") {
		t.Errorf("check of a bad menu: %d\n%s", code, errs)
	}
	if code, _, errs := run(env, "apply", "--flow", dir); code != 1 || !strings.Contains(errs, "reaches 2575,843") {
		t.Errorf("apply of a bad menu: %d %s", code, errs)
	}
	if code, _, errs := run(nil, "check", "--flow", t.TempDir()); code != 1 || !strings.Contains(errs, "no richmenu.yaml beside the flow") {
		t.Errorf("check where there is none: %d %s", code, errs)
	}
	if code, _, _ := run(nil, "remove"); code != 2 {
		t.Errorf("an unknown subcommand: exit %d", code)
	}
}
