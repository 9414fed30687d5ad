package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tsunagu-city/tsunagu/bot/richmenu"
	"github.com/tsunagu-city/tsunagu/config"
	"github.com/tsunagu-city/tsunagu/flows"
)

const richmenuUsage = `usage:
  tsunagu richmenu check [--flow PATH]   check richmenu.yaml and its image, without calling LINE
  tsunagu richmenu apply [--flow PATH]   make it the LINE account's rich menu (replaces the old one)

richmenu.yaml sits beside the flow: in the flow's folder, or beside a one-file
flow. Without --flow (or TSUNAGU_FLOW) the default menu embedded with the
default flow is used. apply needs LINE_CHANNEL_ACCESS_TOKEN (docs/richmenu.md).
`

func runRichMenu(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return richMenuCommand(ctx, args, os.Getenv, stdout, stderr)
}

// richMenuCommand is runRichMenu with its environment given.
func richMenuCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "check" && args[0] != "apply") {
		fmt.Fprint(stderr, richmenuUsage)
		return 2
	}
	apply := args[0] == "apply"
	fset := flag.NewFlagSet("richmenu "+args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, richmenuUsage) }
	flowPath := fset.String("flow", "", "the flow's file or folder (default: TSUNAGU_FLOW, or the embedded default)")
	if err := fset.Parse(args[1:]); err != nil {
		return 2
	}
	if fset.NArg() > 0 {
		fset.Usage()
		return 2
	}
	var need []string
	if apply {
		need = []string{"LINE_CHANNEL_ACCESS_TOKEN"}
	}
	cfg, err := config.FromEnvFor(getenv, need...)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu richmenu: %v\n", err)
		return 2
	}
	if *flowPath == "" {
		*flowPath = cfg.FlowPath
	}
	fsys, name, shown, err := richMenuFile(*flowPath)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu richmenu: %v\n", err)
		return 1
	}
	m, err := richmenu.Load(fsys, name, shown)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !apply {
		fmt.Fprintf(stdout, "ok: %s — %s, %d areas, image %s (%d KB)\n", shown, m.Size, len(m.Areas), m.Image, len(m.ImageData)>>10)
		return 0
	}
	c, err := richmenu.NewClients(cfg.LineChannelAccessToken, cfg.LineAPIBaseURL)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu richmenu: %v\n", err)
		return 1
	}
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	done, err := richmenu.Apply(actx, c, m)
	if err != nil {
		fmt.Fprintf(stderr, "tsunagu richmenu: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "rich menu %s is the default now (%s, %d areas)\n", done.ID, shown, len(m.Areas))
	if done.Replaced != "" {
		fmt.Fprintf(stdout, "the one it replaced, %s, was deleted\n", done.Replaced)
	}
	return 0
}

// richMenuFile finds richmenu.yaml beside the flow at path: in the folder,
// or beside a one-file flow; the embedded default's when path is empty.
func richMenuFile(path string) (fsys fs.FS, name, shown string, err error) {
	if path == "" {
		return flows.DefaultFiles(), richmenu.FileName, "flows/default/" + richmenu.FileName + " (embedded)", nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", "", err
	}
	dir := path
	if !info.IsDir() {
		dir = filepath.Dir(path)
	}
	shown = filepath.Join(dir, richmenu.FileName)
	if _, err := os.Stat(shown); err != nil {
		return nil, "", "", fmt.Errorf("no %s beside the flow (%s): copy flows/default/%s and its image there", richmenu.FileName, shown, richmenu.FileName)
	}
	return os.DirFS(dir), richmenu.FileName, shown, nil
}
