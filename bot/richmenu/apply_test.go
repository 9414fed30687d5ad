package richmenu

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tsunagu-city/tsunagu/bot/linefake"
	"github.com/tsunagu-city/tsunagu/flows"
)

func clients(t *testing.T, fake *linefake.Server) Clients {
	t.Helper()
	c, err := NewClients(linefake.Token, fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func defaultMenu(t *testing.T) *Menu {
	t.Helper()
	m, err := Load(flows.DefaultFiles(), FileName, FileName)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyCreatesAndThenReplacesTheDefault(t *testing.T) {
	fake := linefake.New(t)
	c := clients(t, fake)
	m := defaultMenu(t)

	first, err := Apply(t.Context(), c, m)
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if first.ID == "" || first.Replaced != "" || fake.DefaultRichMenu() != first.ID {
		t.Fatalf("first apply = %+v, default %q", first, fake.DefaultRichMenu())
	}
	menus := fake.RichMenus()
	if len(menus) != 1 || menus[0].ImageType != "image/png" || len(menus[0].Image) != len(m.ImageData) {
		t.Fatalf("menus after the first apply: %d, image %q %d bytes", len(menus), menus[0].ImageType, len(menus[0].Image))
	}
	var sent struct {
		Size        struct{ Width, Height int }
		Selected    bool
		ChatBarText string
		Areas       []struct {
			Bounds struct{ X, Y, Width, Height int }
			Action struct{ Type, Label, Text string }
		}
	}
	if err := json.Unmarshal(menus[0].Request, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Size.Width != 2500 || sent.Size.Height != 843 || !sent.Selected || sent.ChatBarText != "メニュー" || len(sent.Areas) != 4 {
		t.Errorf("menu sent: %+v", sent)
	}
	if a := sent.Areas[3]; a.Action.Type != "message" || a.Action.Label != "データを消す" || a.Action.Text != "データを消したい" || a.Bounds.X != 1875 {
		t.Errorf("the delete button was sent as %+v", a)
	}

	second, err := Apply(t.Context(), c, m)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if second.Replaced != first.ID || second.ID == first.ID || fake.DefaultRichMenu() != second.ID {
		t.Errorf("second apply = %+v; first was %s; default is %s", second, first.ID, fake.DefaultRichMenu())
	}
	if menus := fake.RichMenus(); len(menus) != 1 || menus[0].ID != second.ID {
		t.Errorf("after replacing, the account holds %d menus (want only the new one)", len(menus))
	}
	// The new menu was the default only once its image was there.
	var order []string
	for _, call := range fake.Calls("") {
		if strings.Contains(call.Path, "richmenu") {
			order = append(order, call.Method+" "+strings.ReplaceAll(call.Path, second.ID, "NEW"))
		}
	}
	want := []string{"GET /v2/bot/user/all/richmenu", "POST /v2/bot/richmenu", "POST /v2/bot/richmenu/NEW/content",
		"POST /v2/bot/user/all/richmenu/NEW", "DELETE /v2/bot/richmenu/" + first.ID}
	if got := order[len(order)-len(want):]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls of the second apply:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A failed upload leaves the old menu in place and no half-made one behind.
func TestApplyFailureKeepsTheOldMenu(t *testing.T) {
	fake := linefake.New(t)
	c := clients(t, fake)
	m := defaultMenu(t)
	first, err := Apply(t.Context(), c, m)
	if err != nil {
		t.Fatal(err)
	}
	fake.Fail("/v2/bot/richmenu/richmenu-00000000000000000000000000000002/content", http.StatusInternalServerError)
	if _, err := Apply(t.Context(), c, m); err == nil || !strings.Contains(err.Error(), "upload the image") {
		t.Fatalf("apply with a failing upload: %v", err)
	}
	if fake.DefaultRichMenu() != first.ID {
		t.Errorf("the default changed to %q after a failure", fake.DefaultRichMenu())
	}
	if menus := fake.RichMenus(); len(menus) != 1 || menus[0].ID != first.ID {
		t.Errorf("after the failure the account holds %d menus, want only the old one", len(menus))
	}
}

func TestApplyWithABadTokenSaysSo(t *testing.T) {
	fake := linefake.New(t)
	c, err := NewClients("not-the-token", fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(t.Context(), c, defaultMenu(t)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("apply with a bad token: %v", err)
	}
	if len(fake.RichMenus()) != 0 {
		t.Error("a menu was made with a bad token")
	}
}
