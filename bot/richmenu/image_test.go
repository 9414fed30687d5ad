package richmenu

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tsunagu-city/tsunagu/internal/headless"
)

// makeImage remakes the default menu's image from testdata/richmenu.html.
// Go's standard library cannot draw Japanese text, so the labels are laid
// out by Chromium with the IPA Gothic font (fonts-ipafont-gothic).
var makeImage = flag.Bool("richmenu.image", false, "remake flows/default/richmenu.png from testdata/richmenu.html in headless Chromium")

// TestMakeDefaultImage writes flows/default/richmenu.png (with
// -richmenu.image), or, without it, renders the page into the artifact
// directory so the test still shows the page draws as it should.
func TestMakeDefaultImage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	page, err := filepath.Abs(filepath.Join("testdata", "richmenu.html"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	tab := headless.Tab(t, ctx, 2500, 843)
	shot, err := chromedp.Run(tab, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(2500, 843), chromedp.Navigate("file://"+page)); err != nil {
			return nil, err
		}
		return chromedp.CaptureScreenshot()(ctx, tg)
	}))
	if err != nil {
		t.Fatalf("render %s: %v", page, err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2500 || b.Dy() != 843 {
		t.Fatalf("rendered %dx%d, want 2500x843", b.Dx(), b.Dy())
	}
	// Re-encoded at the best compression: flat colours keep it far under LINE's 1 MB.
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		t.Fatal(err)
	}
	if out.Len() > maxImageBytes {
		t.Fatalf("the image is %d KB, over LINE's 1 MB", out.Len()>>10)
	}
	dst := filepath.Join(t.ArtifactDir(), "richmenu.png")
	if *makeImage {
		dst = filepath.Join("..", "..", "flows", "default", "richmenu.png")
	}
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KB)", dst, out.Len()>>10)
}
