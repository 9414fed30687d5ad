package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// Slack checks Web API calls: the method exists and the arguments are the
// ones it declares, the required ones present.
type Slack struct {
	methods map[string]slackMethod
}

type slackMethod struct {
	params   map[string]bool // name -> required
	httpVerb []string
}

// LoadSlack reads Slack's Web API description (OpenAPI 2.0).
func LoadSlack(path string) (*Slack, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name     string `json:"name"`
				Required bool   `json:"required"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("contract: decode %s: %w", path, err)
	}
	s := &Slack{methods: map[string]slackMethod{}}
	for p, ops := range doc.Paths {
		m := slackMethod{params: map[string]bool{}}
		for verb, op := range ops {
			m.httpVerb = append(m.httpVerb, strings.ToUpper(verb))
			for _, prm := range op.Parameters {
				m.params[prm.Name] = m.params[prm.Name] || prm.Required
			}
		}
		s.methods[strings.TrimPrefix(p, "/")] = m
	}
	return s, nil
}

// Check validates one Web API call: method, its form or query arguments,
// and the Block Kit limits of its blocks. The token may come as the
// Authorization header instead of an argument, as Slack allows.
func (s *Slack) Check(method string, header http.Header, form url.Values) error {
	m, ok := s.methods[method]
	if !ok {
		return fmt.Errorf("slack %s: no such Web API method", method)
	}
	var errs []error
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := m.params[k]; !ok {
			errs = append(errs, fmt.Errorf("argument %q is not one %s takes", k, method))
		}
	}
	for k, required := range m.params {
		if !required || form.Has(k) {
			continue
		}
		if k == "token" && strings.HasPrefix(header.Get("Authorization"), "Bearer ") {
			continue
		}
		errs = append(errs, fmt.Errorf("required argument %q missing", k))
	}
	if b := form.Get("blocks"); b != "" {
		errs = append(errs, BlockKit(b))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	return nil
}

// Block Kit limits, in characters, from Slack's block reference.
const (
	maxBlocks      = 50
	maxHeader      = 150
	maxSection     = 3000
	maxField       = 2000
	maxFields      = 10
	maxButton      = 75
	maxContextElts = 10
	maxActionElts  = 25
	maxOptionText  = 75
	maxBlockID     = 255
	maxActionID    = 255
)

// BlockKit checks a blocks argument against Block Kit's limits.
func BlockKit(blocks string) error {
	var bs []struct {
		Type     string         `json:"type"`
		BlockID  string         `json:"block_id"`
		Text     *textObject    `json:"text"`
		Fields   []textObject   `json:"fields"`
		Elements []blockElement `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		return fmt.Errorf("blocks: not a JSON array of blocks: %w", err)
	}
	var errs []error
	over := func(what string, s string, max int) {
		if n := utf8.RuneCountInString(s); n > max {
			errs = append(errs, fmt.Errorf("%s: %d characters, Block Kit takes %d", what, n, max))
		}
	}
	if len(bs) > maxBlocks {
		errs = append(errs, fmt.Errorf("blocks: %d, Block Kit takes %d", len(bs), maxBlocks))
	}
	for i, b := range bs {
		at := fmt.Sprintf("blocks[%d] (%s)", i, b.Type)
		over(at+".block_id", b.BlockID, maxBlockID)
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" {
				errs = append(errs, fmt.Errorf("%s: a header's text must be plain_text", at))
			} else {
				over(at+".text", b.Text.Text, maxHeader)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				errs = append(errs, fmt.Errorf("%s: a section needs text or fields", at))
			}
			if b.Text != nil {
				over(at+".text", b.Text.Text, maxSection)
			}
			if len(b.Fields) > maxFields {
				errs = append(errs, fmt.Errorf("%s.fields: %d, Block Kit takes %d", at, len(b.Fields), maxFields))
			}
			for j, f := range b.Fields {
				over(fmt.Sprintf("%s.fields[%d]", at, j), f.Text, maxField)
			}
		case "context":
			if len(b.Elements) > maxContextElts {
				errs = append(errs, fmt.Errorf("%s.elements: %d, Block Kit takes %d", at, len(b.Elements), maxContextElts))
			}
		case "actions":
			if len(b.Elements) > maxActionElts {
				errs = append(errs, fmt.Errorf("%s.elements: %d, Block Kit takes %d", at, len(b.Elements), maxActionElts))
			}
			for j, e := range b.Elements {
				ea := fmt.Sprintf("%s.elements[%d] (%s)", at, j, e.Type)
				over(ea+".action_id", e.ActionID, maxActionID)
				if e.Type == "button" {
					var label textObject
					if err := json.Unmarshal(e.Text, &label); err != nil {
						errs = append(errs, fmt.Errorf("%s.text: not a text object", ea))
					}
					over(ea+".text", label.Text, maxButton)
				}
				for k, o := range e.Options {
					over(fmt.Sprintf("%s.options[%d].text", ea, k), o.Text.Text, maxOptionText)
				}
			}
		case "divider", "image", "input", "file", "rich_text", "video":
		default:
			errs = append(errs, fmt.Errorf("%s: not a Block Kit block type", at))
		}
	}
	return errors.Join(errs...)
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// blockElement is an element of a context block (a text object, whose text
// is a string) or of an actions block (whose text is a text object).
type blockElement struct {
	Type     string          `json:"type"`
	ActionID string          `json:"action_id"`
	Text     json.RawMessage `json:"text"`
	Options  []struct {
		Text textObject `json:"text"`
	} `json:"options"`
}
