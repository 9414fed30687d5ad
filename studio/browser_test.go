package studio

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tsunagu-city/tsunagu/flows"
	"github.com/tsunagu-city/tsunagu/internal/headless"
)

// The browser test drives the page in headless Chromium the way a welfare
// officer would, and keeps a screenshot of each stage in the test's
// artifact directory (go test -artifacts keeps them; make test does).

// copyFlow copies the default flow and its tests into a fresh folder the
// test may edit.
func copyFlow(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "flows", "default")
	dst := filepath.Join(t.TempDir(), "flow")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy the default flow: %v", err)
	}
	return dst
}

// step is one thing the test does in the page.
type step = chromedp.Action[chromedp.Void]

// shot saves a screenshot of the window as name in the artifact directory.
func shot(t *testing.T, dir, name string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.CaptureScreenshot()(ctx, tg)
		if err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			return err
		}
		t.Logf("screenshot: %s", filepath.Join(dir, name))
		return nil
	})
}

// within runs steps under a deadline of their own. On failure it keeps a
// screenshot of the page as it was and names the step that failed.
func within(t *testing.T, ctx context.Context, d time.Duration, what string, steps ...step) {
	t.Helper()
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for i, st := range steps {
		if err := chromedp.Do(dctx, st); err != nil {
			failed := filepath.Join(t.ArtifactDir(), "failed.png")
			if png, shotErr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); shotErr == nil {
				_ = os.WriteFile(failed, png, 0o644)
			}
			t.Fatalf("%s, step %d of %d: %v (the page as it was: %s)", what, i+1, len(steps), err, failed)
		}
	}
}

// waitText waits until the element sel holds want.
func waitText(sel, want string) step {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	poll := chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(0))
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := poll(ctx, tg); err != nil {
			return chromedp.Void{}, fmt.Errorf("waiting for %q in %s: %w", want, sel, err)
		}
		return chromedp.Void{}, nil
	}
}

// css selects by CSS selector only (a plain string may also be read as text or XPath).
type css = chromedp.CSS

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	dir := copyFlow(t)
	st, err := New(Options{Dir: dir, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	w, err := st.Watcher()
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	srv := httptest.NewServer(st)
	// The page's event stream stays open: close it before the server.
	t.Cleanup(srv.Close)
	t.Cleanup(srv.CloseClientConnections)
	shots := t.ArtifactDir()
	tab := headless.Tab(t, ctx, 1400, 1100)

	// The default flow loads with no problems, and its map is drawn.
	within(t, tab, 30*time.Second, "open the map",
		chromedp.Navigate(srv.URL+"/#map"),
		chromedp.WaitVisible(css(`body[data-ready="true"]`)),
		waitText("#status", "問題なし"),
		chromedp.WaitVisible(css(`#map svg g.state-node[data-state="welcome"]`)),
		chromedp.WaitVisible(css(`#map svg g.state-node[data-state="handoff_urgent"]`)),
	)
	// A click on a state shows its texts in every language side by side.
	within(t, tab, 10*time.Second, "open a state",
		chromedp.Click(css(`#map svg g.state-node[data-state="ask_who"]`)),
		waitText("#state-title", "ask_who"),
		waitText("#state-panel table.texts", "English"),
		waitText("#state-panel table.texts", "やさしい日本語"),
		shot(t, shots, "01-map.png"),
	)

	// A crisis mid-conversation: a button, then words; the numbers and the
	// urgent handoff show, and the why panel names the crisis rule.
	within(t, tab, 20*time.Second, "play a crisis conversation",
		chromedp.Click(css(`#tab-btn-try`)),
		chromedp.WaitVisible(css(`#send-follow`)),
		chromedp.Click(css(`#send-follow`)),
		chromedp.WaitVisible(`//button[contains(@class,"quick-reply") and text()="仕事"]`),
		chromedp.Click(`//button[contains(@class,"quick-reply") and text()="仕事"]`),
		waitText("#chat", "→ 状態 ask_who"),
		chromedp.SendKeys(css(`#say`), "もう無理、消えたい"),
		chromedp.Click(css(`#send`)),
		chromedp.WaitVisible(css(`#chat .event.handoff.urgent`)),
		waitText("#chat .event.handoff.urgent", "至急で相談員につなぎました"),
		waitText("#chat .event.handoff.urgent", "健康・こころ"),
		waitText("#chat", "☎ 119"),
		waitText("#chat", "0570-783-556"),
		waitText("#why-body", "危機: 自殺"),
		waitText("#why-body", "危機のルール「自殺」"),
		shot(t, shots, "02-try-crisis.png"),
	)

	// Kept as a test, written into the flow's tests/, run, and passing
	// alongside the flow's own.
	const name = "ブラウザー: 仕事のあと消えたい"
	all := countTests(t, dir) + 1
	within(t, tab, 20*time.Second, "keep the conversation as a test",
		chromedp.Click(css(`#try-save`)),
		chromedp.WaitVisible(css(`#save-name`)),
		chromedp.SetValue(css(`#save-name`), name),
		chromedp.Click(css(`#save-go`)),
		chromedp.WaitVisible(css(`#save-result.pass`)),
		chromedp.Click(css(`#tab-btn-tests`)),
		chromedp.WaitVisible(css(fmt.Sprintf(`#tests-fresh li.test-run.pass[data-name=%q]`, name))),
		chromedp.WaitVisible(css(fmt.Sprintf(`#tests-all li.test-run.pass[data-name=%q]`, name))),
		waitText("#tests-summary", fmt.Sprintf("%d 件合格、0 件不合格", all)),
		shot(t, shots, "03-tests.png"),
	)
	saved, err := os.ReadFile(filepath.Join(dir, "tests", "studio-01.yaml"))
	if err != nil {
		t.Fatalf("the test file was not written: %v", err)
	}
	for _, want := range []string{name, "choose: 仕事", "say: もう無理、消えたい", "urgent: true", `"119"`} {
		if !strings.Contains(string(saved), want) {
			t.Errorf("the saved test lacks %q:\n%s", want, saved)
		}
	}

	// The triage bench, before and after a new crisis phrase.
	within(t, tab, 20*time.Second, "triage a bench",
		chromedp.Click(css(`#tab-btn-bench`)),
		chromedp.SetValue(css(`#bench-text`), benchMessages),
		chromedp.Click(css(`#bench-run`)),
		chromedp.WaitVisible(css(`#bench-table`)),
		waitText("#bench-changed", "0 件"),
	)
	addCrisisPhrase(t, dir)
	within(t, tab, 20*time.Second, "see the bench change after the edit",
		waitText("#bench-changed", "1 件"),
		waitText("#bench-table tr.changed", "海の底で眠りたい"),
		waitText("#bench-table tr.changed", "危機（自殺）"),
		shot(t, shots, "04-bench.png"),
	)

	// A broken file: the problem, with its line, within two seconds.
	line := breakStates(t, dir)
	within(t, tab, slowdown*2*time.Second, "see the problem within 2 seconds",
		waitText("#problems", fmt.Sprintf("states.yaml:%d:", line)),
		waitText("#problems", "ask_whoo"),
		waitText("#status", "問題が"),
	)
	within(t, tab, 10*time.Second, "open the problem's lines",
		chromedp.Click(css(`#problems li.problem a.where`)),
		chromedp.WaitVisible(css(`#problems pre.excerpt .hit`)),
		waitText("#problems pre.excerpt", "next: ask_whoo"),
		shot(t, shots, "05-problem.png"),
	)
	// The same page in English, for the staff who read it better.
	within(t, tab, 10*time.Second, "switch to English",
		chromedp.Click(css(`#ui-lang`)),
		waitText("#status", "1 problem"),
		waitText("#problems", `state "welcome" button 1 goes to "ask_whoo"`),
		waitText("#tab-btn-map", "Map"),
		shot(t, shots, "06-english.png"),
	)
}

// benchMessages has one message the default flow does not take as a
// crisis and the edit below makes one, next to messages that stay as they
// are (among them the same words about fish, which must stay calm).
const benchMessages = "海の底で眠りたい\n海の底で眠る魚の番組を見た\n母の介護で疲れました\n死にたい\n家賃が払えない\n"

// addCrisisPhrase adds "海の底で眠る + wish" to the suicide rule, as
// docs/studio.md shows an officer doing.
func addCrisisPhrase(t *testing.T, dir string) {
	t.Helper()
	edit(t, filepath.Join(dir, "crisis.yaml"), func(s string) string {
		i := strings.Index(s, "- kind: suicide\n")
		if i < 0 {
			t.Fatal("crisis.yaml has no suicide rule")
		}
		j := strings.Index(s[i:], "phrases:\n")
		if j < 0 {
			t.Fatal("the suicide rule has no phrases")
		}
		at := i + j + len("phrases:\n")
		first := s[at:]
		indent := first[:len(first)-len(strings.TrimLeft(first, " "))]
		return s[:at] + indent + "- 海の底で眠る + wish\n" + s[at:]
	})
}

// breakStates misspells the state the first button to ask_who goes to,
// and returns the line the linter names: the button's, where "- label:"
// starts it.
func breakStates(t *testing.T, dir string) int {
	t.Helper()
	line := 0
	edit(t, filepath.Join(dir, "states.yaml"), func(s string) string {
		i := strings.Index(s, "next: ask_who\n")
		if i < 0 {
			t.Fatal("states.yaml has no button to ask_who")
		}
		button := strings.LastIndex(s[:i], "- label:")
		if button < 0 {
			t.Fatal("the button to ask_who has no label line")
		}
		line = strings.Count(s[:button], "\n") + 1
		return s[:i] + "next: ask_whoo\n" + s[i+len("next: ask_who\n"):]
	})
	return line
}

// countTests counts the conversation tests in the flow's tests/ folder.
func countTests(t *testing.T, dir string) int {
	t.Helper()
	fsys := os.DirFS(filepath.Join(dir, "tests"))
	names, err := flows.ConversationFiles(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	convs, err := flows.LoadConversations(fsys, names)
	if err != nil {
		t.Fatal(err)
	}
	return len(convs)
}

func edit(t *testing.T, path string, change func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(change(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}
