package studio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/tsunagu-city/tsunagu/flows"
)

// maxBody bounds a request: a bench of a month's messages fits.
const maxBody = 8 << 20

func (s *Studio) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(s.guard)
	r.Get("/", s.servePage)
	r.Handle("/assets/*", http.StripPrefix("/assets/", assetServer()))
	r.Route("/api", func(r chi.Router) {
		r.Use(noStore)
		r.Get("/flow", s.serveFlow)
		r.Get("/events", s.serveEvents)
		r.Post("/step", s.serveStep)
		r.Get("/tests", s.serveTests)
		r.Post("/tests", s.serveSaveTest)
		r.Post("/bench", s.serveBench)
	})
	return r
}

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Studio) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page loads nothing from elsewhere; say so, so nothing can.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	_, _ = w.Write(pageHTML())
}

// FlowView is everything the page shows about the flow as last loaded.
type FlowView struct {
	Version int       `json:"version"`
	Loaded  time.Time `json:"loaded"`
	Name    string    `json:"name"`
	// Dir is the flow folder; empty with ReadOnly for the embedded flow.
	Dir      string `json:"dir"`
	ReadOnly bool   `json:"read_only"`
	// Runnable is false while the flow has problems: it is shown, never run.
	Runnable   bool           `json:"runnable"`
	Problems   []ProblemView  `json:"problems"`
	Err        string         `json:"error,omitempty"`
	Files      []string       `json:"files"`
	Locales    []LocaleView   `json:"locales"`
	Start      string         `json:"start"`
	Graph      string         `json:"graph"`
	GraphErr   string         `json:"graph_error,omitempty"`
	States     []StateView    `json:"states"`
	Categories []CategoryView `json:"categories"`
	// Kinds are the crisis rules' kinds, in order.
	Kinds []string `json:"kinds"`
	// Clock is the time a tried conversation happens unless changed.
	Clock string `json:"clock"`
}

// LocaleView is one language of the flow.
type LocaleView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CategoryView is a category's id and its name in every language.
type CategoryView struct {
	ID     string            `json:"id"`
	Name   map[string]string `json:"name"`
	Urgent bool              `json:"urgent,omitempty"`
}

func (s *Studio) serveFlow(w http.ResponseWriter, r *http.Request) {
	sn := s.snap()
	v := FlowView{
		Version: sn.Version, Loaded: sn.Loaded, Dir: s.opt.Dir, ReadOnly: s.ReadOnly(),
		Runnable: sn.runnable() != nil, Problems: sn.Problems, Err: sn.Err, Clock: DefaultClock,
		Files: []string{}, Locales: []LocaleView{}, States: []StateView{}, Categories: []CategoryView{}, Kinds: []string{},
	}
	if v.Problems == nil {
		v.Problems = []ProblemView{}
	}
	if f := sn.Flow; f != nil {
		s.describe(&v, f)
	}
	writeJSON(w, http.StatusOK, v)
}

// describe fills v from f, which may be a flow with problems: read as far
// as it could be, and never run.
func (s *Studio) describe(v *FlowView, f *flows.Flow) {
	v.Name, v.Start = f.Name, f.Start
	for _, file := range f.Files {
		v.Files = append(v.Files, s.rel(file))
	}
	for _, l := range f.Locales {
		v.Locales = append(v.Locales, LocaleView{ID: l.ID, Name: l.Name})
	}
	for _, c := range f.Categories {
		v.Categories = append(v.Categories, CategoryView{ID: c.ID, Name: c.Name.ByLocale, Urgent: c.Urgent})
	}
	for _, k := range f.Crisis.Rules {
		v.Kinds = append(v.Kinds, k.Kind)
	}
	v.States = stateViews(f, s.rel)
	g, err := graph(f)
	if err != nil {
		v.GraphErr = err.Error()
	}
	v.Graph = g
}

// graph draws f, which may be half-read; a flow with problems must not take
// the page down with it.
func graph(f *flows.Flow) (g string, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = "", fmt.Errorf("the map cannot be drawn until the problems are fixed (%v)", p)
		}
	}()
	return f.Graph()
}

// rel names a flow file relative to the flow folder.
func (s *Studio) rel(file string) string {
	if s.opt.Dir == "" || file == "" {
		return file
	}
	if r, err := filepath.Rel(s.opt.Dir, file); err == nil {
		return filepath.ToSlash(r)
	}
	return file
}

// errNotRunnable answers a request to run a flow that has problems.
const errNotRunnable = "the flow has problems: fix them first (a flow with problems is never run)"

func (s *Studio) serveStep(w http.ResponseWriter, r *http.Request) {
	f := s.snap().runnable()
	if f == nil {
		writeError(w, http.StatusConflict, errNotRunnable)
		return
	}
	var req StepRequest
	if !readJSON(w, r, &req) {
		return
	}
	res, err := Step(f, req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// TestsResult is a run of the flow's conversation tests.
type TestsResult struct {
	// Version is the flow version the tests ran on.
	Version int       `json:"version"`
	Runs    []TestRun `json:"runs"`
	Passed  int       `json:"passed"`
	Failed  int       `json:"failed"`
	// Problems are problems in the test files themselves.
	Problems []ProblemView `json:"problems"`
	// NotRun says why the tests did not run (the flow has problems).
	NotRun string `json:"not_run,omitempty"`
}

// TestRun is one conversation test's outcome.
type TestRun struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

func (s *Studio) serveTests(w http.ResponseWriter, r *http.Request) {
	sn := s.snap()
	res, err := s.runTests(sn)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// runTests runs every conversation test of the flow, as `flows test` does.
func (s *Studio) runTests(sn *snapshot) (TestsResult, error) {
	res := TestsResult{Version: sn.Version, Runs: []TestRun{}, Problems: []ProblemView{}}
	f := sn.runnable()
	if f == nil {
		res.NotRun = errNotRunnable
		return res, nil
	}
	fsys, prefix := s.testFiles()
	if fsys == nil {
		return res, nil
	}
	names, err := flows.ConversationFiles(fsys, ".")
	if err != nil {
		return res, fmt.Errorf("list the tests: %w", err)
	}
	convs, err := flows.LoadConversations(fsys, names)
	var problems flows.Problems
	if errors.As(err, &problems) {
		res.Problems = s.problemViews(problems, prefix)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	for _, c := range convs {
		out := f.Run(c)
		run := TestRun{File: prefix + out.Pos.File, Line: out.Pos.Line, Name: out.Name, Passed: out.Passed(), Failures: out.Failures}
		if run.Passed {
			res.Passed++
		} else {
			res.Failed++
		}
		res.Runs = append(res.Runs, run)
	}
	return res, nil
}

// SavedTest answers a request to keep a conversation as a test.
type SavedTest struct {
	// File is the new file's path inside the flow folder.
	File string `json:"file"`
	YAML string `json:"yaml"`
}

func (s *Studio) serveSaveTest(w http.ResponseWriter, r *http.Request) {
	if s.ReadOnly() {
		writeError(w, http.StatusForbidden, "the flow built into tsunagu cannot be changed: start the studio with --flow and a folder")
		return
	}
	f := s.snap().runnable()
	if f == nil {
		writeError(w, http.StatusConflict, errNotRunnable)
		return
	}
	var sc Script
	if !readJSON(w, r, &sc) {
		return
	}
	data, err := ConversationTest(f, sc)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name, err := writeTest(s.opt.Dir, data)
	if err != nil {
		s.log.Error("studio: keep a test", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("studio: test written", "file", name)
	writeJSON(w, http.StatusOK, SavedTest{File: name, YAML: string(data)})
}

// benchRequest is the messages to put on the bench.
type benchRequest struct {
	Text string `json:"text"`
}

func (s *Studio) serveBench(w http.ResponseWriter, r *http.Request) {
	f := s.snap().runnable()
	if f == nil {
		writeError(w, http.StatusConflict, errNotRunnable)
		return
	}
	var req benchRequest
	if !readJSON(w, r, &req) {
		return
	}
	res, err := Bench(f, req.Text)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "the request is not readable: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is how the API says what went wrong.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// assetFS is the page's assets without their folder name.
func assetFS() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the folder is embedded; the tests load it
	}
	return sub
}
