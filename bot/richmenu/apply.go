package richmenu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// Clients are the Messaging API clients Apply uses: the API and its blob
// host (api-data.line.me), where images are uploaded.
type Clients struct {
	API  *messaging_api.MessagingApiAPI
	Blob *messaging_api.MessagingApiBlobAPI
}

// lineAPI is LINE's own API host; its images go to api-data.line.me, which
// the blob client knows.
const lineAPI = "https://api.line.me"

// NewClients builds the clients with the channel access token. An empty
// baseURL or LINE's own means LINE's hosts; any other points both the API
// and the blob host at that server, as tests do.
func NewClients(token, baseURL string) (Clients, error) {
	var (
		apiOpts  []messaging_api.MessagingApiAPIOption
		blobOpts []messaging_api.MessagingApiBlobAPIOption
	)
	if baseURL = strings.TrimSuffix(baseURL, "/"); baseURL != "" && baseURL != lineAPI {
		apiOpts = append(apiOpts, messaging_api.WithEndpoint(baseURL))
		blobOpts = append(blobOpts, messaging_api.WithBlobEndpoint(baseURL))
	}
	api, err := messaging_api.NewMessagingApiAPI(token, apiOpts...)
	if err != nil {
		return Clients{}, fmt.Errorf("LINE client: %w", err)
	}
	blob, err := messaging_api.NewMessagingApiBlobAPI(token, blobOpts...)
	if err != nil {
		return Clients{}, fmt.Errorf("LINE blob client: %w", err)
	}
	return Clients{API: api, Blob: blob}, nil
}

// Applied is what Apply did.
type Applied struct {
	// ID is the new default rich menu; Replaced the default it replaced
	// (and deleted), or "" when there was none.
	ID, Replaced string
}

// Apply creates the menu with its image, makes it the account's default
// and deletes the default it replaced. Residents never see a menu without
// its image: the old one stays the default until the new one is complete,
// and a menu left half made by a failure is deleted.
func Apply(ctx context.Context, c Clients, m *Menu) (Applied, error) {
	if len(m.ImageData) == 0 {
		return Applied{}, errors.New("rich menu: no image loaded")
	}
	api, blob := c.API.WithContext(ctx), c.Blob.WithContext(ctx)
	old, err := currentDefault(api)
	if err != nil {
		return Applied{}, err
	}
	created, err := api.CreateRichMenu(m.request())
	if err != nil {
		return Applied{}, fmt.Errorf("rich menu: create: %w", err)
	}
	id := created.RichMenuId
	undo := func(err error) (Applied, error) {
		if _, derr := c.API.WithContext(context.WithoutCancel(ctx)).DeleteRichMenu(id); derr != nil {
			err = errors.Join(err, fmt.Errorf("rich menu: delete the half-made menu %s: %w", id, derr))
		}
		return Applied{}, err
	}
	if _, err := blob.SetRichMenuImage(id, m.ImageType, bytes.NewReader(m.ImageData)); err != nil {
		return undo(fmt.Errorf("rich menu: upload the image: %w", err))
	}
	if _, err := api.SetDefaultRichMenu(id); err != nil {
		return undo(fmt.Errorf("rich menu: make it the default: %w", err))
	}
	out := Applied{ID: id}
	if old != "" && old != id {
		if _, err := api.DeleteRichMenu(old); err != nil {
			// The new menu is in place; only the old one's clean-up failed.
			return out, fmt.Errorf("rich menu: %s is the default now, but deleting the old one (%s) failed: %w", id, old, err)
		}
		out.Replaced = old
	}
	return out, nil
}

// currentDefault is the account's default rich menu, "" when it has none.
func currentDefault(api *messaging_api.MessagingApiAPI) (string, error) {
	r, res, err := api.GetDefaultRichMenuIdWithHttpInfo()
	if r != nil && r.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("rich menu: get the default: %w", err)
	}
	return res.RichMenuId, nil
}

// request is the menu as the Messaging API takes it.
func (m *Menu) request() *messaging_api.RichMenuRequest {
	req := &messaging_api.RichMenuRequest{
		Size:        &messaging_api.RichMenuSize{Width: int64(m.Size.Width), Height: int64(m.Size.Height)},
		Selected:    m.Selected,
		Name:        m.Name,
		ChatBarText: m.ChatBar,
	}
	if req.Name == "" {
		req.Name = "tsunagu"
	}
	for _, a := range m.Areas {
		var act messaging_api.ActionInterface
		if a.Postback != "" {
			act = &messaging_api.PostbackAction{Label: a.Label, Data: a.Postback, DisplayText: a.Text}
		} else {
			act = &messaging_api.MessageAction{Label: a.Label, Text: a.Message}
		}
		req.Areas = append(req.Areas, messaging_api.RichMenuArea{
			Bounds: &messaging_api.RichMenuBounds{X: int64(a.Bounds.X), Y: int64(a.Bounds.Y), Width: int64(a.Bounds.Width), Height: int64(a.Bounds.Height)},
			Action: act,
		})
	}
	return req
}
