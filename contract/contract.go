// Package contract checks the requests tsunagu sends to LINE and Slack, as
// the test fakes (bot/linefake, handoff/slackfake) record them, against the
// vendors' own descriptions kept beside the repository in ../shared/specs:
// LINE's Messaging API OpenAPI document (with kin-openapi) plus the limits
// LINE documents in prose, and Slack's Web API description (methods and
// their arguments) plus Block Kit's limits. The fakes run the checks when a
// test ends, so every test that talks to them is a contract test.
package contract

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// ErrNoSpecs means the shared specs folder is not beside the repository.
var ErrNoSpecs = errors.New("contract: ../shared/specs not found beside the repository")

// SpecsDir finds the shared specs folder: ../shared/specs relative to the
// repository root (the directory of go.mod), looked for from the working
// directory upwards, as a test runs in its package's directory.
func SpecsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("contract: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			specs := filepath.Join(dir, "..", "shared", "specs")
			if st, err := os.Stat(specs); err == nil && st.IsDir() {
				return specs, nil
			}
			return "", ErrNoSpecs
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoSpecs
		}
		dir = parent
	}
}

var (
	loadOnce sync.Once
	line     *LINE
	slackAPI *Slack
	loadErr  error
)

// Load reads both specs once per process; it returns ErrNoSpecs when the
// folder is missing.
func Load() (*LINE, *Slack, error) {
	loadOnce.Do(func() {
		dir, err := SpecsDir()
		if err != nil {
			loadErr = err
			return
		}
		if line, err = LoadLINE(filepath.Join(dir, "line", "messaging-api.yml")); err != nil {
			loadErr = err
			return
		}
		slackAPI, loadErr = LoadSlack(filepath.Join(dir, "slack", "slack_web_openapi_v2_without_examples.json"))
	})
	return line, slackAPI, loadErr
}
