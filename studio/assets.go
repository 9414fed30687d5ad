package studio

import (
	"embed"
	"net/http"
)

// assets are the page, its script and style, and the mermaid library that
// draws the map: all in the binary, since the page must work offline in a
// city office. assets/README.md says where mermaid comes from.
//
//go:embed assets
var assets embed.FS

// pageHTML is the page itself.
func pageHTML() []byte {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		panic(err) // embedded at build time; the tests serve it
	}
	return b
}

// assetServer serves the page's files; they change only with the binary.
func assetServer() http.Handler {
	files := http.FileServerFS(assetFS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
