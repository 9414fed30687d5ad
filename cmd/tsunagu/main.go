// Command tsunagu is the city's consultation front door on LINE, and the
// tools administrators use to edit, check and try its conversation flow.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tsunagu — the city's never-refuse consultation front door on LINE

usage:
  tsunagu chat [--flow PATH] [--lang ja|easy-ja|en] [--json]   talk to the flow in the terminal
  tsunagu serve [--check]                                     run the LINE and Slack service (env config); --check: lint and test its flow
  tsunagu health [--url URL]                                  exit 0 when a running serve is ready (/readyz), 1 when not
  tsunagu flows lint [PATH...]                                check a flow (default: the embedded one)
  tsunagu flows test [--flow PATH] [FILE...]                  run conversation tests
  tsunagu flows triage [--flow PATH]                          triage one message per line of stdin
  tsunagu flows graph [--flow PATH]                           print the flow as a Mermaid diagram
  tsunagu studio [--flow DIR] [--addr 127.0.0.1:8787]         edit, see, try and test the flow in a browser
  tsunagu stats [--from 2026-04] [--to 2027-03] [--csv | --html FILE]   monthly statistics for the 重層的支援会議
  tsunagu richmenu check|apply [--flow PATH]                  check or set the LINE rich menu (richmenu.yaml beside the flow)
  tsunagu version                                             print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it gets the rest of the arguments and returns the exit code.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	commands := map[string]command{
		"chat":     runChat,
		"serve":    runServe,
		"health":   runHealth,
		"flows":    runFlows,
		"studio":   runStudio,
		"stats":    runStats,
		"richmenu": runRichMenu,
		"version":  runVersion,
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tsunagu: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}
