package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/tsunagu-city/tsunagu/flows"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version or VCS revision recorded by the Go toolchain is shown.
var version = ""

func runVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "tsunagu %s, flow schema v%d\n", versionString(), flows.SchemaVersion)
	return 0
}

// versionString is the build's version, as `tsunagu version` prints it.
func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
