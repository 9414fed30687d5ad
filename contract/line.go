package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// LINE checks Messaging API requests.
type LINE struct {
	router routers.Router
}

// LoadLINE reads LINE's messaging-api.yml.
func LoadLINE(path string) (*LINE, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract: load %s: %w", path, err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: route %s: %w", path, err)
	}
	return &LINE{router: r}, nil
}

// Check validates one request to LINE: its path and method exist, its
// headers and JSON body match the operation's schema, and the texts keep
// LINE's documented limits, which the schema does not carry.
func (l *LINE) Check(method, path string, header http.Header, body []byte) error {
	// The spec's server is https://api.line.me; the fake serves the same paths.
	req, err := http.NewRequest(method, "https://api.line.me"+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := l.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: not in the Messaging API: %w", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
			// A violation reads as its reason, not the schema and value dumped.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}}}
	var errs []error
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		errs = append(errs, err)
	}
	if len(body) > 0 && route.Operation.RequestBody != nil {
		errs = append(errs, messageLimits(body))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// LINE's documented limits, counted in UTF-16 code units as LINE counts them.
const (
	maxText        = 5000
	maxLabel       = 20
	maxData        = 300
	maxDisplayText = 300
	maxQuickReply  = 13
)

// messageLimits checks what the OpenAPI document leaves to prose: the
// length of a text message and of quick-reply buttons.
func messageLimits(body []byte) error {
	var req struct {
		Messages []struct {
			Type       string `json:"type"`
			Text       string `json:"text"`
			QuickReply *struct {
				Items []struct {
					Action struct {
						Label       string `json:"label"`
						Data        string `json:"data"`
						DisplayText string `json:"displayText"`
					} `json:"action"`
				} `json:"items"`
			} `json:"quickReply"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil // the schema check reports a body that is not JSON
	}
	var errs []error
	limit := func(what string, i int, s string, max int) {
		if n := utf16Len(s); n > max {
			errs = append(errs, fmt.Errorf("messages[%d].%s: %d UTF-16 units, LINE takes %d", i, what, n, max))
		}
	}
	for i, m := range req.Messages {
		if m.Type == "text" {
			limit("text", i, m.Text, maxText)
		}
		if m.QuickReply == nil {
			continue
		}
		if n := len(m.QuickReply.Items); n > maxQuickReply {
			errs = append(errs, fmt.Errorf("messages[%d].quickReply.items: %d, LINE takes %d", i, n, maxQuickReply))
		}
		for _, it := range m.QuickReply.Items {
			limit("quickReply.action.label", i, it.Action.Label, maxLabel)
			limit("quickReply.action.data", i, it.Action.Data, maxData)
			limit("quickReply.action.displayText", i, it.Action.DisplayText, maxDisplayText)
		}
	}
	return errors.Join(errs...)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
