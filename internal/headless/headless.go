// Package headless gives tests a headless Chromium tab, the way the flow
// studio's browser test drives one: found on the PATH (or TSUNAGU_CHROMIUM),
// skipped when absent outside CI, a failure when absent in CI (.ci/run sets
// TSUNAGU_CI and installs it).
package headless

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium. Outside CI a machine without it skips the test,
// saying so; in CI it must be there.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TSUNAGU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TSUNAGU_CI") != "" {
		t.Fatal("chromium is not installed, and CI must run the browser tests: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("browser test skipped: chromium is not installed (apt-get install chromium, or set TSUNAGU_CHROMIUM to a Chrome or Chromium binary)")
	return ""
}

// Tab starts headless Chromium with the flags that keep it quick and quiet
// on a closed network, with a window of w×h pixels, and returns a tab; both
// end at test cleanup.
func Tab(t testing.TB, ctx context.Context, w, h int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	// The first call starts the browser; it must not carry a short deadline.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab
}
