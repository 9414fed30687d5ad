package flows

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryProblemSaysJapanese reads the package's own source for the
// formats it reports problems and test failures with, so that a new message
// cannot ship without its Japanese twin.
func TestEveryProblemSaysJapanese(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 1 {
				return true
			}
			catalogue, arg := problemsJA, 1
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if fn.Sel.Name != "add" {
					return true
				}
			case *ast.Ident:
				// A conversation test's failures: fail(format, args…).
				if fn.Name != "fail" {
					return true
				}
				catalogue, arg = testFailuresJA, 0
			default:
				return true
			}
			if arg >= len(call.Args) {
				return true
			}
			lit, ok := call.Args[arg].(*ast.BasicLit)
			if !ok || lit.Kind != gotoken.STRING {
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil || format == "%s" {
				return true
			}
			if _, ok := catalogue[format]; !ok {
				t.Errorf("%s: %q has no Japanese", fset.Position(lit.Pos()), format)
			}
			return true
		})
	}
}
