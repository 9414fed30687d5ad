package flows

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a flow, where it was written.
type Problem struct {
	Pos     Pos
	Message string

	// format and args make the message again in another language (In).
	format string
	args   []any
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.Pos.File, p.Pos.Line, p.Pos.Col, p.Message)
}

// Problems is every problem found in a flow; as an error it prints one
// file:line:col: message line per problem.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(pos Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Message: fmt.Sprintf(format, args...), format: format, args: args})
}

// syntaxError starts the message of a YAML syntax problem.
const syntaxError = "YAML syntax error: "

// decoder fills Go structs from a yaml.Node tree strictly: unknown keys and
// wrong types are reported with their position and the decoding goes on, so
// an administrator sees every problem at once instead of one per run.
type decoder struct {
	file     string
	problems *Problems
}

var (
	posType    = reflect.TypeFor[Pos]()
	textType   = reflect.TypeFor[Text]()
	phraseType = reflect.TypeFor[Phrase]()
	yamlLine   = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)
	kindNames  = map[yaml.Kind]string{
		yaml.MappingNode: "a set of keys", yaml.SequenceNode: "a list",
		yaml.ScalarNode: "a single value", yaml.DocumentNode: "a document",
	}
)

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// parseYAML turns bytes into a node tree, reporting syntax errors at the
// line the YAML library names.
func parseYAML(file string, data []byte, problems *Problems) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, col := 1, 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				col, _ = strconv.Atoi(m[2])
			}
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = yamlLine.ReplaceAllString(msg, "")
		msg = strings.Trim(strings.TrimSpace(msg), ": ")
		problems.add(Pos{File: file, Line: line, Col: col}, syntaxError+"%s (check the indentation and the quotes around this line)", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the zero value; the linter says if it was required
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
			if err := u.UnmarshalYAML(n); err != nil {
				d.problems.add(d.pos(n), "%s: %v", path, err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		if v.Type() == textType {
			d.decodeText(n, v, path)
			return
		}
		if v.Type() == phraseType {
			if n.Kind != yaml.ScalarNode {
				d.problems.add(d.pos(n), "%s should be a phrase, found %s", path, kindNames[n.Kind])
				return
			}
			v.Set(reflect.ValueOf(Phrase{Pos: d.pos(n), Text: n.Value}))
			return
		}
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problems.add(d.pos(n), "%s should be a list (lines starting with \"- \"), found %s", path, kindNames[n.Kind])
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.problems.add(d.pos(n), "%s should be a set of \"key: value\" lines, found %s", path, kindNames[n.Kind])
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, path+"."+k.Value)
			v.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.problems.add(d.pos(n), "%s should be a text, found %s", path, kindNames[n.Kind])
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.problems.add(d.pos(n), "%s should be a whole number, found %q", path, n.Value)
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.problems.add(d.pos(n), "%s should be true or false, found %q", path, n.Value)
			return
		}
		v.SetBool(b)
	default:
		panic("flows: decoder cannot fill " + v.Type().String())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if f, ok := t.FieldByName("Pos"); ok && f.Type == posType {
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(d.pos(n)))
	}
	if n.Kind != yaml.MappingNode {
		d.problems.add(d.pos(n), "%s should be a set of \"key: value\" lines, found %s", path, kindNames[n.Kind])
		return
	}
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !t.Field(i).IsExported() {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fi, ok := fields[k.Value]
		if !ok {
			where := path
			if where == "" {
				where = "the top level"
			}
			d.problems.add(d.pos(k), "unknown key %q in %s (allowed here: %s)", k.Value, where, strings.Join(names, ", "))
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		d.decode(val, v.Field(fi), sub)
	}
}

// decodeText reads a text written once per locale ("ja: …", "en: …").
func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string) {
	t := Text{Pos: d.pos(n), ByLocale: map[string]string{}}
	if n.Kind != yaml.MappingNode {
		d.problems.add(d.pos(n), "%s should give the text once per language, like \"ja: …\" and \"en: …\" on their own lines", path)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			d.problems.add(d.pos(val), "%s.%s should be a text, found %s", path, k.Value, kindNames[val.Kind])
			continue
		}
		t.ByLocale[k.Value] = val.Value
		if c := strings.TrimSpace(strings.TrimPrefix(val.LineComment, "#")); val.Style == 0 && c != "" && c[0] >= '0' && c[0] <= '9' {
			// "…迷ったら #8000（…" without quotes: YAML took the rest
			// of the line, phone number and all, for a comment.
			d.problems.add(d.pos(val), "%s.%s is cut at \" #%s\": in YAML \" #\" starts a comment; put the text in quotes (\"…\") to keep numbers like #8000", path, k.Value, firstRunes(c, 12))
		}
	}
	v.Set(reflect.ValueOf(t))
}

func firstRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
