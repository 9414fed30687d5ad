package richmenu

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/tsunagu-city/tsunagu/flows"
)

// pngs holds the PNGs made, by size: encoding 2 megapixels under -race
// takes seconds.
var pngs sync.Map

// pngOf is a plain grey PNG of w×h pixels.
func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	if b, ok := pngs.Load(Size{w, h}); ok {
		return b.([]byte)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	pngs.Store(Size{w, h}, b.Bytes())
	return b.Bytes()
}

const goodMenu = `version: 1
name: test menu
chat_bar: メニュー
size: 2500x843
selected: true
image: menu.png
areas:
  - label: 相談する
    bounds: {x: 0, y: 0, width: 1250, height: 843}
    message: 相談できますか？
  - label: 使い方
    bounds: {x: 1250, y: 0, width: 1250, height: 843}
    postback: menu=usage
    text: 使い方
`

func menuFS(t testing.TB, yaml string, img []byte) fstest.MapFS {
	return fstest.MapFS{"flow/richmenu.yaml": {Data: []byte(yaml)}, "flow/menu.png": {Data: img}}
}

func TestLoadGoodMenu(t *testing.T) {
	m, err := Load(menuFS(t, goodMenu, pngOf(t, 2500, 843)), "flow/richmenu.yaml", "my-flow/richmenu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != (Size{2500, 843}) || m.ChatBar != "メニュー" || !m.Selected || m.ImageType != "image/png" || len(m.Areas) != 2 {
		t.Errorf("menu = %+v", m)
	}
	if a := m.Areas[1]; a.Postback != "menu=usage" || a.Text != "使い方" || a.Bounds != (Bounds{1250, 0, 1250, 843}) || a.Line != 11 {
		t.Errorf("area 2 = %+v", a)
	}
}

func TestLoadDefaultMenu(t *testing.T) {
	m, err := Load(flows.DefaultFiles(), FileName, "flows/default/"+FileName)
	if err != nil {
		t.Fatalf("the default rich menu: %v", err)
	}
	var labels []string
	for _, a := range m.Areas {
		labels = append(labels, a.Label)
	}
	if got := strings.Join(labels, " "); got != "相談する 緊急のとき 使い方 データを消す" {
		t.Errorf("default menu's buttons: %s", got)
	}
}

// Every mistake is answered with the file, the line and what to do.
func TestLoadProblems(t *testing.T) {
	good := pngOf(t, 2500, 843)
	var gifImg bytes.Buffer
	_ = gif.Encode(&gifImg, image.NewPaletted(image.Rect(0, 0, 2500, 843), []color.Color{color.White}), nil)
	big := make([]byte, 1<<20+1)
	copy(big, good)
	tests := []struct {
		name string
		yaml string
		img  []byte
		want []string
	}{
		{"not YAML", "areas: [", good, []string{"m/richmenu.yaml:1:1: not readable as YAML"}},
		{"empty", "", good, []string{"the file is empty"}},
		{"unknown key", strings.Replace(goodMenu, "selected: true", "selectd: true", 1), good,
			[]string{`m/richmenu.yaml:5:1: richmenu.yaml has no "selectd"`}},
		{"bad size", strings.Replace(goodMenu, "2500x843", "1200x810", 1), pngOf(t, 1200, 810),
			[]string{"m/richmenu.yaml:4:7: size 1200x810: use 2500x1686 (full) or 2500x843 (half height)"}},
		{"size written wrong", strings.Replace(goodMenu, "2500x843", "2500 x 843", 1), good, []string{`4:7: size "2500 x 843" should be written like 2500x843`}},
		{"chat bar too long", strings.Replace(goodMenu, "chat_bar: メニュー", "chat_bar: 相談窓口つなぐのメニューはこちらです", 1), good,
			[]string{"3:11: chat_bar", "1 to 14 characters"}},
		{"area outside", strings.Replace(goodMenu, "width: 1250, height: 843}\n    postback", "width: 1300, height: 843}\n    postback", 1), good,
			[]string{"m/richmenu.yaml:11:5: area 2 (使い方) reaches 2550,843, outside the 2500x843 menu"}},
		{"overlap", strings.Replace(goodMenu, "{x: 1250, y: 0", "{x: 1000, y: 0", 1), good, []string{"area 2 (使い方) overlaps area 1"}},
		{"no action", strings.Replace(goodMenu, "    message: 相談できますか？\n", "", 1), good, []string{"8:5: area 1 (相談する) does nothing"}},
		{"two actions", strings.Replace(goodMenu, "    text: 使い方\n", "    message: 使い方\n", 1), good, []string{"area 2 (使い方) has both message: and postback:"}},
		{"label too long", strings.Replace(goodMenu, "label: 相談する", "label: 相談するときはここを押してくださいね、いつでもどうぞ", 1), good,
			[]string{"the label is 26 characters; at most 20"}},
		{"no label", strings.Replace(goodMenu, "  - label: 相談する\n    bounds", "  - bounds", 1), good, []string{"area 1 has no label"}},
		{"bounds not numbers", strings.Replace(goodMenu, "x: 0,", "x: left,", 1), good, []string{`9:17: want a whole number of pixels, not "left"`}},
		{"no bounds", strings.Replace(goodMenu, "    bounds: {x: 0, y: 0, width: 1250, height: 843}\n", "", 1), good, []string{"this area has no bounds"}},
		{"missing image key", strings.Replace(goodMenu, "image: menu.png\n", "", 1), good, []string{"image: is missing"}},
		{"image missing", strings.Replace(goodMenu, "menu.png", "nothere.png", 1), good, []string{`6:8: image "nothere.png" cannot be read`}},
		{"image wrong size", goodMenu, pngOf(t, 2500, 1686), []string{`6:8: image "menu.png" is 2500x1686; it must be exactly the menu's size, 2500x843`}},
		{"image a GIF", goodMenu, gifImg.Bytes(), []string{"is image/gif; LINE takes PNG or JPEG"}},
		{"image too big", goodMenu, big, []string{"LINE takes at most 1 MB"}},
		{"version", strings.Replace(goodMenu, "version: 1", "version: 2", 1), good, []string{"1:10: version 2 is not known"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(menuFS(t, tt.yaml, tt.img), "flow/richmenu.yaml", "m/richmenu.yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(goodMenu)
	f.Add("areas: [{bounds: {x: -1}}]")
	f.Add("size: 0x0\nareas: []")
	img := pngOf(f, 2500, 843)
	f.Fuzz(func(t *testing.T, yaml string) {
		m, err := Load(menuFS(t, yaml, img), "flow/richmenu.yaml", "m/richmenu.yaml")
		if err == nil && (m == nil || len(m.Areas) == 0 || len(m.ImageData) == 0) {
			t.Fatalf("a menu without areas or image passed: %+v", m)
		}
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("a bad file is not answered with its problems: %v", err)
		}
	})
}
