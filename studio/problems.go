package studio

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsunagu-city/tsunagu/flows"
)

// ProblemView is one lint problem as the page shows it: where, what (in
// Japanese and in English), and the lines of YAML around it.
type ProblemView struct {
	// File is the file's path inside the flow folder (tests/… for tests).
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	// Message is the linter's message; MessageJa says the same in Japanese,
	// or is empty when the studio does not know this message yet.
	Message   string `json:"message"`
	MessageJa string `json:"message_ja,omitempty"`
	// Excerpt is the lines around Line, for the page to show on a click.
	Excerpt *Excerpt `json:"excerpt,omitempty"`
}

// Excerpt is a few numbered lines of a file.
type Excerpt struct {
	// First is the number of the first line in Lines.
	First int      `json:"first"`
	Lines []string `json:"lines"`
}

// excerptLines is how many lines are shown before and after a problem.
const excerptLines = 4

// problemViews turns problems into what the page shows. Files are named
// relative to the flow folder; prefix is put in front of names that are
// already relative (the tests folder's files).
func (s *Studio) problemViews(ps flows.Problems, prefix string) []ProblemView {
	out := make([]ProblemView, 0, len(ps))
	files := map[string][]string{}
	for _, p := range ps {
		name := prefix + p.Pos.File
		if s.opt.Dir != "" && filepath.IsAbs(p.Pos.File) {
			if rel, err := filepath.Rel(s.opt.Dir, p.Pos.File); err == nil {
				name = filepath.ToSlash(rel)
			}
		}
		v := ProblemView{File: name, Line: p.Pos.Line, Col: p.Pos.Col, Message: p.Message}
		if ja := p.Say("ja"); ja != p.Message {
			v.MessageJa = ja
		}
		lines, ok := files[name]
		if !ok {
			lines = s.readLines(name)
			files[name] = lines
		}
		v.Excerpt = excerpt(lines, p.Pos.Line)
		out = append(out, v)
	}
	return out
}

// readLines reads a file of the flow folder, never one outside it.
func (s *Studio) readLines(name string) []string {
	if s.opt.Dir == "" {
		return nil
	}
	root, err := os.OpenRoot(s.opt.Dir)
	if err != nil {
		return nil
	}
	defer root.Close()
	data, err := root.ReadFile(filepath.FromSlash(name))
	if err != nil {
		return nil
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	return lines
}

// excerpt is the lines around line (1-based), or nil when there are none.
func excerpt(lines []string, line int) *Excerpt {
	if len(lines) == 0 || line < 1 {
		return nil
	}
	first := max(1, line-excerptLines)
	last := min(len(lines), line+excerptLines)
	if first > last {
		return nil
	}
	return &Excerpt{First: first, Lines: lines[first-1 : last]}
}
