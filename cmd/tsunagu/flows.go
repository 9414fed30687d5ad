package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsunagu-city/tsunagu/flows"
)

const flowsUsage = `usage:
  tsunagu flows lint [--lang ja|en] [PATH...]  check flow files or folders (default: the embedded flow)
  tsunagu flows test [--flow PATH] [FILE...]   run conversation tests (default: the flow's tests/ folder)
  tsunagu flows triage [--flow PATH]           read one message per line, print what triage finds
  tsunagu flows graph [--flow PATH]            print the flow as a Mermaid state diagram
`

func runFlows(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return 2
	}
	sub := map[string]command{
		"lint":   runLint,
		"test":   runFlowTests,
		"triage": runTriage,
		"graph":  runGraph,
	}[args[0]]
	if sub == nil {
		fmt.Fprintf(stderr, "tsunagu flows: unknown command %q\n\n%s", args[0], flowsUsage)
		return 2
	}
	return sub(ctx, args[1:], stdin, stdout, stderr)
}

// loadFlow loads the flow at path, or the embedded default when path is empty.
func loadFlow(path string) (*flows.Flow, error) {
	if path == "" {
		return flows.LoadDefault()
	}
	return flows.LoadPath(path)
}

// flowFromArgs parses the --flow flag shared by the flows commands and loads
// the flow; it also returns the path given and the other arguments. On
// failure the flow is nil: the user was told and code is the exit code.
func flowFromArgs(name string, args []string, stderr io.Writer, more ...func(*flag.FlagSet)) (f *flows.Flow, path string, rest []string, code int) {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&path, "flow", "", "flow file or folder (default: the embedded flow)")
	for _, m := range more {
		m(fset)
	}
	if err := fset.Parse(args); err != nil {
		return nil, "", nil, 2
	}
	f, err := loadFlow(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, "", nil, 1
	}
	return f, path, fset.Args(), 0
}

func runLint(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("flows lint", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintf(stderr, "usage: tsunagu flows lint [--lang ja|en] [PATH...]\n\nChecks flow files or folders (default: the embedded flow) and prints every problem as file:line:col: message.\n\n")
		fset.PrintDefaults()
	}
	lang := langFlag(fset)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	paths := fset.Args()
	if len(paths) == 0 {
		paths = []string{""}
	}
	code := 0
	for _, p := range paths {
		f, err := loadFlow(p)
		name := p
		if name == "" {
			name = say(*lang, "embedded default flow", "組み込みの既定のフロー")
		}
		if err != nil {
			fmt.Fprintln(stderr, problemsIn(err, *lang))
			code = 1
			continue
		}
		fmt.Fprintf(stdout, say(*lang, "ok: %s — %d states, %d categories, %d crisis rules, %d languages\n",
			"ok: %s — 状態 %d、カテゴリ %d、危機ルール %d、言語 %d\n"),
			name, len(f.States), len(f.Categories), len(f.Crisis.Rules), len(f.Locales))
	}
	return code
}

// langFlag adds --lang to a command: the language of its messages, from
// LANG when not given (ja_JP.UTF-8 speaks Japanese).
func langFlag(fset *flag.FlagSet) *string {
	def := "en"
	for _, v := range []string{os.Getenv("LC_ALL"), os.Getenv("LC_MESSAGES"), os.Getenv("LANG")} {
		if v != "" {
			if strings.HasPrefix(v, "ja") {
				def = "ja"
			}
			break
		}
	}
	return fset.String("lang", def, "language of the messages: ja or en (default from LANG)")
}

// say picks the English or the Japanese text.
func say(lang, en, ja string) string {
	if strings.HasPrefix(lang, "ja") {
		return ja
	}
	return en
}

// problemsIn says a flow's problems in a language; other errors as they are.
func problemsIn(err error, lang string) string {
	var ps flows.Problems
	if errors.As(err, &ps) {
		return ps.In(lang)
	}
	return err.Error()
}

func runTriage(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var eval string
	var verbose bool
	f, _, _, code := flowFromArgs("flows triage", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&eval, "eval", "", "score a labelled TSV file (crisis|crisis:KIND|calm|calm:CATEGORY<TAB>message)")
		fs.BoolVar(&verbose, "v", false, "with --eval: list every miss, alarm, check and misrouted message")
	})
	if f == nil {
		return code
	}
	if eval != "" {
		return runEval(f, eval, verbose, stdout, stderr)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	sc := newLineScanner(stdin)
	for sc.Scan() {
		if err := enc.Encode(f.Triage(sc.Text())); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "read input:", err)
		return 1
	}
	return 0
}

// runEval scores triage on a labelled set and prints the figures; -v lists
// the messages behind them.
func runEval(f *flows.Flow, path string, verbose bool, stdout, stderr io.Writer) int {
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer file.Close()
	set, err := flows.ParseEvalSet(file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	r := f.Evaluate(set)
	fmt.Fprintf(stdout, "%s: %d messages\n%s", path, len(set), r.Summary())
	if verbose {
		for _, group := range []struct {
			title string
			lines []flows.EvalLine
		}{{"missed", r.Missed}, {"false alarm", r.Alarms}, {"check on calm", r.Checked}, {"misrouted", r.Misrouted}} {
			for _, l := range group.lines {
				fmt.Fprintf(stdout, "%s\t%d\t%s\t%s\t%s→%v\n", group.title, l.Line, label(l.Labelled), l.Text, l.Got.Kind, l.Got.Categories)
			}
		}
	}
	return 0
}

func label(l flows.Labelled) string {
	if l.Crisis {
		return "crisis:" + l.Kind
	}
	return "calm:" + l.Category
}

func runGraph(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f, _, _, code := flowFromArgs("flows graph", args, stderr)
	if f == nil {
		return code
	}
	g, err := f.Graph()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprint(stdout, g)
	return 0
}

func runFlowTests(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var lang *string
	f, path, named, code := flowFromArgs("flows test", args, stderr, func(fs *flag.FlagSet) { lang = langFlag(fs) })
	if f == nil {
		return code
	}
	fsys, names, err := testFiles(path, named)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, say(*lang, "no conversation tests found: put .yaml files in the flow's tests/ folder or name them",
			"会話テストが見つかりません: フローの tests/ フォルダに .yaml ファイルを置くか、ファイル名を指定してください"))
		return 1
	}
	convs, err := flows.LoadConversations(fsys, names)
	if err != nil {
		fmt.Fprintln(stderr, problemsIn(err, *lang))
		return 1
	}
	passed, failed := 0, 0
	for _, c := range convs {
		r := f.Run(c)
		if r.Passed() {
			passed++
			fmt.Fprintf(stdout, "PASS %s:%d %s\n", r.Pos.File, r.Pos.Line, r.Name)
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s:%d %s\n", r.Pos.File, r.Pos.Line, r.Name)
		for _, msg := range r.FailuresIn(*lang) {
			fmt.Fprintf(stdout, "  %s\n", msg)
		}
	}
	fmt.Fprintf(stdout, say(*lang, "%d passed, %d failed\n", "成功 %d、失敗 %d\n"), passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// testFiles finds the conversation tests: the files named, else the tests/
// folder beside the flow, else the tests embedded with the default flow.
func testFiles(flowPath string, named []string) (fs.FS, []string, error) {
	if len(named) > 0 {
		return osFiles{}, named, nil
	}
	if flowPath == "" {
		fsys := flows.DefaultTests()
		names, err := flows.ConversationFiles(fsys, ".")
		return fsys, names, err
	}
	dir := flowPath
	if info, err := os.Stat(flowPath); err == nil && !info.IsDir() {
		dir = filepath.Dir(flowPath)
	}
	dir = filepath.Join(dir, "tests")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	fsys := os.DirFS(dir)
	names, err := flows.ConversationFiles(fsys, ".")
	return fsys, names, err
}

// newLineScanner reads lines of any length a resident might paste.
func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return sc
}

// osFiles reads paths as the user typed them, relative or absolute, so that
// problems name the file the way the user knows it.
type osFiles struct{}

func (osFiles) Open(name string) (fs.File, error) { return os.Open(name) }
