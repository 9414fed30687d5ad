// Package richmenu sets the LINE account's rich menu (the row of big
// buttons under the chat) from a richmenu.yaml beside the flow: it reads and
// checks the file, with file:line answers an administrator can act on, and
// replaces the account's default menu through the Messaging API.
package richmenu

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // richmenu images may be JPEG
	_ "image/png"  // or PNG
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode/utf16"

	"go.yaml.in/yaml/v3"
)

// FileName is the rich menu's file, beside the flow's files.
const FileName = "richmenu.yaml"

// Limits LINE sets (messaging-api.yml and the rich menu guide).
const (
	maxImageBytes = 1 << 20
	maxAreas      = 20
	maxChatBar    = 14
	maxName       = 300
	maxLabel      = 20
	maxText       = 300
)

// sizes are the rich menu sizes accepted: LINE's full and half height at
// the largest width, which stay sharp on every phone.
var sizes = []Size{{2500, 1686}, {2500, 843}}

// Size is a rich menu's size in pixels.
type Size struct{ Width, Height int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// Bounds is a tappable area, in the image's pixels.
type Bounds struct{ X, Y, Width, Height int }

// Area is one button of the menu: where it is and what a tap does.
type Area struct {
	// Label names the button for accessibility (read aloud by screen readers).
	Label  string
	Bounds Bounds
	// Message is the text the tap sends as the resident's own message; or
	// Postback is the data sent in a postback event, with Text shown in the
	// chat as the resident's words (optional).
	Message  string
	Postback string
	Text     string
	// Line is where the area is written in the file.
	Line int
}

// Menu is a rich menu as richmenu.yaml describes it.
type Menu struct {
	// Name names the menu in LINE's lists (residents do not see it).
	Name string
	// ChatBar is the text of the bar that opens and closes the menu.
	ChatBar  string
	Size     Size
	Selected bool
	// Image is the image's path, relative to richmenu.yaml; ImageData its
	// bytes and ImageType "image/png" or "image/jpeg".
	Image     string
	ImageData []byte
	ImageType string
	Areas     []Area
	// File is the path richmenu.yaml was read from, as shown in problems.
	File string
}

// Problem is one thing wrong with a richmenu.yaml, at a place in it.
type Problem struct {
	File      string
	Line, Col int
	Message   string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
}

// Problems are all that is wrong with a file; as an error, one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// reader reads the YAML tree and collects problems at their places.
type reader struct {
	file     string
	problems Problems
}

func (r *reader) add(n *yaml.Node, format string, args ...any) {
	p := Problem{File: r.file, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	r.problems = append(r.problems, p)
}

// fields walks a mapping, calling set for each known key and saying so for
// unknown ones.
func (r *reader) fields(n *yaml.Node, what string, known map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		r.add(n, "%s should be a set of \"key: value\" lines", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		set, ok := known[k.Value]
		switch {
		case !ok:
			r.add(k, "%s has no %q (known: %s)", what, k.Value, keys(known))
		case seen[k.Value]:
			r.add(k, "%q is given twice in %s", k.Value, what)
		default:
			seen[k.Value] = true
			set(v)
		}
	}
}

func keys(m map[string]func(*yaml.Node)) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func (r *reader) str(dst *string) func(*yaml.Node) {
	return func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			r.add(n, "want a text here")
			return
		}
		*dst = n.Value
	}
}

func (r *reader) integer(dst *int) func(*yaml.Node) {
	return func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(dst) != nil {
			r.add(n, "want a whole number of pixels, not %q", n.Value)
		}
	}
}

func (r *reader) boolean(dst *bool) func(*yaml.Node) {
	return func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(dst) != nil {
			r.add(n, "want true or false, not %q", n.Value)
		}
	}
}

// Load reads name (a richmenu.yaml) from fsys with its image, and checks
// both; shown is how the file is named in problems. Every problem found is
// returned, as Problems.
func Load(fsys fs.FS, name, shown string) (*Menu, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("rich menu: %w", err)
	}
	m, problems := parse(data, shown)
	if m.Image != "" && len(problems) == 0 {
		img := path.Join(path.Dir(name), m.Image)
		if b, err := fs.ReadFile(fsys, img); err != nil {
			problems = append(problems, Problem{File: shown, Line: m.imageLine, Col: m.imageCol,
				Message: fmt.Sprintf("image %q cannot be read: %v", m.Image, err)})
		} else {
			m.ImageData = b
		}
	}
	problems = append(problems, m.check()...)
	if len(problems) > 0 {
		return m.Menu, problems
	}
	return m.Menu, nil
}

// parsed is a menu with where its fields were written.
type parsed struct {
	*Menu
	line                map[string]*yaml.Node
	imageLine, imageCol int
	version             int
}

// parse reads the file's YAML; what it cannot read is a problem.
func parse(data []byte, file string) (parsed, Problems) {
	m := parsed{Menu: &Menu{File: file}, line: map[string]*yaml.Node{}}
	r := &reader{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		// yaml.v3 says where in its message only: "yaml: line 3: …".
		_, _ = fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &line)
		return m, Problems{{File: file, Line: line, Col: 1, Message: "not readable as YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return m, Problems{{File: file, Message: "the file is empty: it should say version, size, image and areas"}}
	}
	root := doc.Content[0]
	mark := func(key string, set func(*yaml.Node)) func(*yaml.Node) {
		return func(n *yaml.Node) { m.line[key] = n; set(n) }
	}
	var size string
	r.fields(root, "richmenu.yaml", map[string]func(*yaml.Node){
		"version":  mark("version", r.integer(&m.version)),
		"name":     mark("name", r.str(&m.Name)),
		"chat_bar": mark("chat_bar", r.str(&m.ChatBar)),
		"size":     mark("size", r.str(&size)),
		"selected": mark("selected", r.boolean(&m.Selected)),
		"image": mark("image", func(n *yaml.Node) {
			m.imageLine, m.imageCol = n.Line, n.Column
			r.str(&m.Image)(n)
		}),
		"areas": mark("areas", func(n *yaml.Node) {
			if n.Kind != yaml.SequenceNode {
				r.add(n, "areas should be a list of buttons (- label: …)")
				return
			}
			for _, an := range n.Content {
				a := Area{Line: an.Line}
				var b *yaml.Node
				r.fields(an, "an area", map[string]func(*yaml.Node){
					"label":    r.str(&a.Label),
					"message":  r.str(&a.Message),
					"postback": r.str(&a.Postback),
					"text":     r.str(&a.Text),
					"bounds": func(n *yaml.Node) {
						b = n
						r.fields(n, "bounds", map[string]func(*yaml.Node){
							"x": r.integer(&a.Bounds.X), "y": r.integer(&a.Bounds.Y),
							"width": r.integer(&a.Bounds.Width), "height": r.integer(&a.Bounds.Height),
						})
					},
				})
				if b == nil {
					r.add(an, "this area has no bounds: {x: …, y: …, width: …, height: …}")
				}
				m.Areas = append(m.Areas, a)
			}
		}),
	})
	if n := m.line["size"]; n != nil {
		var s Size
		if _, err := fmt.Sscanf(size, "%dx%d", &s.Width, &s.Height); err != nil || s.String() != size {
			r.add(n, "size %q should be written like 2500x843", size)
		}
		m.Size = s
	}
	for _, key := range []string{"version", "size", "image", "areas", "chat_bar"} {
		if m.line[key] == nil {
			r.add(root, "%s: is missing", key)
		}
	}
	return m, r.problems
}

// check tests what LINE would refuse or what would puzzle a resident.
func (m parsed) check() Problems {
	r := &reader{file: m.File}
	at := func(key string) *yaml.Node { return m.line[key] }
	if n := at("version"); n != nil && m.version != 1 {
		r.add(n, "version %d is not known: this tsunagu reads version 1", m.version)
	}
	if n := at("size"); n != nil && m.Size.Width > 0 && !slices.Contains(sizes, m.Size) {
		r.add(n, "size %s: use 2500x1686 (full) or 2500x843 (half height)", m.Size)
	}
	if n := at("chat_bar"); n != nil && (m.ChatBar == "" || utf16Len(m.ChatBar) > maxChatBar) {
		r.add(n, "chat_bar %q: 1 to %d characters (it is the bar under the chat)", m.ChatBar, maxChatBar)
	}
	if n := at("name"); n != nil && utf16Len(m.Name) > maxName {
		r.add(n, "name: at most %d characters", maxName)
	}
	if n := at("areas"); n != nil && (len(m.Areas) == 0 || len(m.Areas) > maxAreas) {
		r.add(n, "a rich menu has 1 to %d areas, not %d", maxAreas, len(m.Areas))
	}
	if m.ImageData != nil {
		m.checkImage(r)
	}
	for i, a := range m.Areas {
		p := &yaml.Node{Line: a.Line, Column: 5}
		name := fmt.Sprintf("area %d", i+1)
		if a.Label != "" {
			name += " (" + a.Label + ")"
		}
		switch {
		case a.Label == "":
			r.add(p, "%s has no label: screen readers say it to residents who cannot see the image", name)
		case utf16Len(a.Label) > maxLabel:
			r.add(p, "%s: the label is %d characters; at most %d", name, utf16Len(a.Label), maxLabel)
		}
		switch {
		case a.Message == "" && a.Postback == "":
			r.add(p, "%s does nothing: give message: (the words a tap sends) or postback: (data for the bot)", name)
		case a.Message != "" && a.Postback != "":
			r.add(p, "%s has both message: and postback:; a tap does one thing", name)
		case a.Message != "" && a.Text != "":
			r.add(p, "%s: text: goes with postback: (the words shown for it); a message: is shown as it is", name)
		}
		for _, f := range []struct{ what, v string }{{"message", a.Message}, {"postback", a.Postback}, {"text", a.Text}} {
			if utf16Len(f.v) > maxText {
				r.add(p, "%s: %s is %d characters; at most %d", name, f.what, utf16Len(f.v), maxText)
			}
		}
		b := a.Bounds
		if b.Width <= 0 || b.Height <= 0 || b.X < 0 || b.Y < 0 {
			r.add(p, "%s: bounds need x and y of 0 or more and a width and height above 0", name)
			continue
		}
		if m.Size.Width > 0 && (b.X+b.Width > m.Size.Width || b.Y+b.Height > m.Size.Height) {
			r.add(p, "%s reaches %d,%d, outside the %s menu", name, b.X+b.Width, b.Y+b.Height, m.Size)
		}
		for j := range i {
			if o := m.Areas[j].Bounds; overlap(b, o) {
				r.add(p, "%s overlaps area %d: a tap there would be ambiguous", name, j+1)
			}
		}
	}
	return r.problems
}

func (m parsed) checkImage(r *reader) {
	n := &yaml.Node{Line: m.imageLine, Column: m.imageCol}
	if len(m.ImageData) > maxImageBytes {
		r.add(n, "image %q is %d KB; LINE takes at most 1 MB (1024 KB)", m.Image, len(m.ImageData)>>10)
	}
	m.ImageType = http.DetectContentType(m.ImageData)
	if m.ImageType != "image/png" && m.ImageType != "image/jpeg" {
		r.add(n, "image %q is %s; LINE takes PNG or JPEG", m.Image, m.ImageType)
		return
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(m.ImageData))
	if err != nil {
		r.add(n, "image %q cannot be read: %v", m.Image, err)
		return
	}
	if got := (Size{cfg.Width, cfg.Height}); m.Size.Width > 0 && got != m.Size {
		r.add(n, "image %q is %s; it must be exactly the menu's size, %s", m.Image, got, m.Size)
	}
}

func overlap(a, b Bounds) bool {
	return a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height
}

// utf16Len is a length as LINE counts it, in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
