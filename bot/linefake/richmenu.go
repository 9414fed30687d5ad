package linefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// RichMenu is a rich menu the fake holds.
type RichMenu struct {
	ID string
	// Request is the JSON it was created with.
	Request json.RawMessage
	// Image and ImageType are what was uploaded, if anything.
	Image     []byte
	ImageType string
}

// Paths of the rich menu endpoints (the image goes to LINE's blob host,
// which the fake also serves).
const (
	PathRichMenu        = "/v2/bot/richmenu"
	PathDefaultRichMenu = "/v2/bot/user/all/richmenu"
)

var (
	richMenuRe      = regexp.MustCompile(`^/v2/bot/richmenu/([^/]+)$`)
	richMenuImageRe = regexp.MustCompile(`^/v2/bot/richmenu/([^/]+)/content$`)
	defaultMenuRe   = regexp.MustCompile(`^/v2/bot/user/all/richmenu/([^/]+)$`)
)

// RichMenus returns the rich menus the fake holds, in creation order.
func (s *Server) RichMenus() []RichMenu {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RichMenu
	for _, id := range s.menuOrder {
		if m, ok := s.menus[id]; ok {
			out = append(out, *m)
		}
	}
	return out
}

// DefaultRichMenu is the id of the default rich menu, "" when none is set.
func (s *Server) DefaultRichMenu() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultMenu
}

// richMenu serves the rich menu endpoints; ok is false for other paths.
func (s *Server) richMenu(r *http.Request, c *Call) (status int, answer any, ok bool) {
	p := c.Path
	switch {
	case p == PathRichMenu && r.Method == http.MethodPost:
		return s.createRichMenu(c.Body)
	case p == PathDefaultRichMenu && r.Method == http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.defaultMenu == "" {
			return http.StatusNotFound, fail("no default richmenu"), true
		}
		return http.StatusOK, map[string]string{"richMenuId": s.defaultMenu}, true
	case richMenuImageRe.MatchString(p) && r.Method == http.MethodPost:
		id := richMenuImageRe.FindStringSubmatch(p)[1]
		ct := r.Header.Get("Content-Type")
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.menus[id]
		switch {
		case m == nil:
			return http.StatusNotFound, fail("Not found"), true
		case m.Image != nil:
			return http.StatusBadRequest, fail("An image has already been uploaded to the richmenu"), true
		case ct != "image/png" && ct != "image/jpeg":
			return http.StatusBadRequest, fail("Unsupported content type: " + ct), true
		case len(c.Body) == 0 || len(c.Body) > 1<<20:
			return http.StatusRequestEntityTooLarge, fail("The image must be at most 1 MB"), true
		}
		m.Image, m.ImageType = c.Body, ct
		return http.StatusOK, map[string]any{}, true
	case defaultMenuRe.MatchString(p) && r.Method == http.MethodPost:
		id := defaultMenuRe.FindStringSubmatch(p)[1]
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.menus[id]
		switch {
		case m == nil:
			return http.StatusNotFound, fail("Not found"), true
		case m.Image == nil:
			return http.StatusBadRequest, fail("must upload richmenu image before applying it to user"), true
		}
		s.defaultMenu = id
		return http.StatusOK, map[string]any{}, true
	case richMenuRe.MatchString(p) && r.Method == http.MethodDelete:
		id := richMenuRe.FindStringSubmatch(p)[1]
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.menus[id] == nil {
			return http.StatusNotFound, fail("Not found"), true
		}
		delete(s.menus, id)
		if s.defaultMenu == id {
			s.defaultMenu = ""
		}
		return http.StatusOK, map[string]any{}, true
	}
	return 0, nil, false
}

// createRichMenu checks a rich menu object as LINE does (size, chat bar,
// areas inside the image, actions) and keeps it.
func (s *Server) createRichMenu(body []byte) (int, any, bool) {
	var req struct {
		Size struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"size"`
		Selected    *bool  `json:"selected"`
		Name        string `json:"name"`
		ChatBarText string `json:"chatBarText"`
		Areas       []struct {
			Bounds struct{ X, Y, Width, Height int } `json:"bounds"`
			Action struct {
				Type        string `json:"type"`
				Label       string `json:"label"`
				Text        string `json:"text"`
				Data        string `json:"data"`
				DisplayText string `json:"displayText"`
			} `json:"action"`
		} `json:"areas"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, fail("The request body has 1 error(s)"), true
	}
	var d []detail
	w, h := req.Size.Width, req.Size.Height
	if w < 800 || w > 2500 || h < 250 || float64(w)/float64(h) < 1.45 {
		d = append(d, detail{"Invalid size", "size"})
	}
	if req.Selected == nil {
		d = append(d, detail{"Must be specified", "selected"})
	}
	if n := utf16Len(req.Name); n < 1 || n > 300 {
		d = append(d, detail{"Length must be between 1 and 300", "name"})
	}
	if n := utf16Len(req.ChatBarText); n < 1 || n > 14 {
		d = append(d, detail{"Length must be between 1 and 14", "chatBarText"})
	}
	if len(req.Areas) < 1 || len(req.Areas) > 20 {
		d = append(d, detail{"Size must be between 1 and 20", "areas"})
	}
	for i, a := range req.Areas {
		p := fmt.Sprintf("areas[%d]", i)
		b := a.Bounds
		if b.X < 0 || b.Y < 0 || b.Width < 1 || b.Height < 1 || b.X+b.Width > w || b.Y+b.Height > h {
			d = append(d, detail{"Area is out of the rich menu", p + ".bounds"})
		}
		act := a.Action
		if utf16Len(act.Label) > 20 {
			d = append(d, detail{"Length must be between 0 and 20", p + ".action.label"})
		}
		switch act.Type {
		case "message":
			if n := utf16Len(act.Text); n < 1 || n > 300 {
				d = append(d, detail{"Length must be between 1 and 300", p + ".action.text"})
			}
		case "postback":
			if n := utf16Len(act.Data); n < 1 || n > 300 {
				d = append(d, detail{"Length must be between 1 and 300", p + ".action.data"})
			}
			if utf16Len(act.DisplayText) > 300 {
				d = append(d, detail{"Length must be between 0 and 300", p + ".action.displayText"})
			}
		default:
			d = append(d, detail{"Invalid action type", p + ".action.type"})
		}
	}
	if len(d) > 0 {
		return http.StatusBadRequest, fail("The request body has errors", d...), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.menus == nil {
		s.menus = map[string]*RichMenu{}
	}
	s.menuSeq++
	id := fmt.Sprintf("richmenu-%032x", s.menuSeq)
	s.menus[id] = &RichMenu{ID: id, Request: json.RawMessage(strings.Clone(string(body)))}
	s.menuOrder = append(s.menuOrder, id)
	return http.StatusOK, map[string]string{"richMenuId": id}, true
}
