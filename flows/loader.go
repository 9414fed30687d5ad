package flows

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed default
var defaultFS embed.FS

// Default returns the city's default flow, embedded in the binary. It panics
// if the embedded flow does not load, which the tests rule out.
func Default() *Flow {
	f, err := LoadDefault()
	if err != nil {
		panic("flows: the embedded default flow is broken:\n" + err.Error())
	}
	return f
}

// LoadDefault loads the embedded default flow, reporting its problems.
func LoadDefault() (*Flow, error) { return Load(defaultFS, "default") }

// defaultTexts are the default flow's texts, read once: a flow that does
// not give an optional text says the default one.
var defaultTexts = sync.OnceValue(func() map[string]Text {
	data, err := defaultFS.ReadFile("default/texts.yaml")
	if err != nil {
		panic("flows: the embedded texts are missing: " + err.Error())
	}
	var problems Problems
	root := parseYAML("default/texts.yaml", data, &problems)
	var part Flow
	(&decoder{file: "default/texts.yaml", problems: &problems}).decodeStruct(root, reflect.ValueOf(&part).Elem(), "")
	if len(problems) > 0 {
		panic("flows: the embedded texts are broken:\n" + problems.Error())
	}
	return part.Texts
})

// DefaultTests returns the conversation tests shipped with the default flow.
func DefaultTests() fs.FS {
	sub, err := fs.Sub(defaultFS, "default/tests")
	if err != nil {
		panic(err)
	}
	return sub
}

// RichMenuFile is the LINE rich menu's file (package bot/richmenu), which may
// sit beside a flow's files and is not read as one of them.
const RichMenuFile = "richmenu.yaml"

// DefaultFiles is the folder of the embedded default flow: its YAML files,
// its conversation tests (tests/) and its rich menu and image.
func DefaultFiles() fs.FS {
	sub, err := fs.Sub(defaultFS, "default")
	if err != nil {
		panic("flows: the embedded default flow is missing: " + err.Error())
	}
	return sub
}

// LoadPath loads a flow from a .yaml file or a folder of .yaml files on disk.
func LoadPath(p string) (*Flow, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("load flow: %w", err)
	}
	if info.IsDir() {
		return Load(os.DirFS(p), ".", p)
	}
	return Load(os.DirFS(filepath.Dir(p)), filepath.Base(p), filepath.Dir(p))
}

// Load loads a flow from root in fsys: one .yaml file, or every .yaml file of
// a folder (not its subfolders, where conversation tests live). The optional
// display prefix is put in front of file names in problems. Any problem makes
// Load fail with Problems, so a flow that fails the linter never runs.
func Load(fsys fs.FS, root string, display ...string) (*Flow, error) {
	files, err := flowFiles(fsys, root)
	if err != nil {
		return nil, err
	}
	shown := func(name string) string {
		if len(display) > 0 {
			return filepath.Join(display[0], strings.TrimPrefix(name, root+"/"))
		}
		return name
	}
	var problems Problems
	f := &Flow{}
	seen := map[string]Pos{}
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load flow: %w", err)
		}
		f.Files = append(f.Files, shown(name))
		mergeFile(f, shown(name), data, seen, &problems)
	}
	if slices.ContainsFunc(problems, func(p Problem) bool { return strings.HasPrefix(p.Message, syntaxError) }) {
		// Without the broken file every later check would only add noise.
		return f, problems
	}
	if len(files) > 0 && f.Pos.File == "" {
		f.Pos = Pos{File: shown(files[0]), Line: 1, Col: 1}
	}
	problems = append(problems, f.compile()...)
	if len(problems) > 0 {
		return f, problems
	}
	return f, nil
}

func flowFiles(fsys fs.FS, root string) ([]string, error) {
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("load flow: %w", err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("load flow: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Name() == RichMenuFile {
			continue // the LINE rich menu beside the flow, not part of it
		}
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			files = append(files, path.Join(root, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load flow: no .yaml files in %s", root)
	}
	slices.Sort(files)
	return files, nil
}

// mergeFile decodes one file and adds it to f: lists (states, categories,
// patterns) and texts are gathered from every file; every other key may be
// set in one file only; every file says which schema version it is written for.
func mergeFile(f *Flow, file string, data []byte, seen map[string]Pos, problems *Problems) {
	root := parseYAML(file, data, problems)
	if root == nil {
		return
	}
	d := &decoder{file: file, problems: problems}
	if root.Kind != yaml.MappingNode {
		problems.add(d.pos(root), "a flow file should be a set of \"key: value\" lines (version:, states:, …)")
		return
	}
	var part Flow
	d.decodeStruct(root, reflect.ValueOf(&part).Elem(), "")
	if f.Pos.File == "" {
		f.Pos = d.pos(root)
	}
	hasVersion := false
	fv := reflect.ValueOf(f).Elem()
	pv := reflect.ValueOf(&part).Elem()
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i]
		idx, ok := fieldByTag(fv.Type(), key.Value)
		if !ok {
			continue // already reported as an unknown key
		}
		if f.keyPos == nil {
			f.keyPos = map[string]Pos{}
		}
		if _, seen := f.keyPos[key.Value]; !seen {
			f.keyPos[key.Value] = d.pos(key)
		}
		dst, src := fv.Field(idx), pv.Field(idx)
		switch {
		case key.Value == "version":
			hasVersion = true
			if part.Version != SchemaVersion {
				problems.add(d.pos(root.Content[i+1]), "version %d is not supported: this tsunagu reads flow schema version %d", part.Version, SchemaVersion)
			}
			f.Version = SchemaVersion
		case dst.Kind() == reflect.Slice:
			dst.Set(reflect.AppendSlice(dst, src))
		case dst.Kind() == reflect.Map:
			if dst.IsNil() {
				dst.Set(reflect.MakeMap(dst.Type()))
			}
			for _, k := range src.MapKeys() {
				if dst.MapIndex(k).IsValid() {
					problems.add(d.pos(key), "%s.%s is defined twice (also in another file)", key.Value, k.String())
					continue
				}
				dst.SetMapIndex(k, src.MapIndex(k))
			}
		default:
			if prev, dup := seen[key.Value]; dup {
				problems.add(d.pos(key), "%q is already set in %s:%d; set it in one file only", key.Value, prev.File, prev.Line)
				continue
			}
			seen[key.Value] = d.pos(key)
			dst.Set(src)
		}
	}
	if !hasVersion {
		problems.add(d.pos(root), "this file has no \"version: %d\" line; add it at the top so future tsunagu versions know how to read it", SchemaVersion)
	}
}

func fieldByTag(t reflect.Type, tag string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == tag && name != "" && name != "-" {
			return i, true
		}
	}
	return 0, false
}
