package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestEveryVariableDocumentedAndExampled: every variable FromEnv reads is
// in docs/config.md, and deploy/tsunagu.env.example shows exactly the
// variables docs/config.md lists, so a city copying the example sees every
// setting there is.
func TestEveryVariableDocumentedAndExampled(t *testing.T) {
	read := map[string]bool{}
	_, _ = FromEnv(func(name string) string { read[name] = true; return "" })

	names := func(path string, re *regexp.Regexp) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range re.FindAllSubmatch(b, -1) {
			if n := string(m[1]); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	documented := names("../docs/config.md", regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)`"))
	example := names("../deploy/tsunagu.env.example", regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]+)=`))

	for name := range read {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is read but not in docs/config.md", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(example, name) {
			t.Errorf("%s is in docs/config.md but not in deploy/tsunagu.env.example", name)
		}
	}
	for _, name := range example {
		if !slices.Contains(documented, name) {
			t.Errorf("deploy/tsunagu.env.example sets %s, which docs/config.md does not list", name)
		}
	}
}

// TestDeployKit reads the deployment files for the promises docs/deploy.md
// makes about them: base images named in full, Redis 7 with AOF and
// noeviction, stop timeouts longer than the service's own graceful stop.
func TestDeployKit(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	fully := regexp.MustCompile(`^[a-z0-9.-]+\.[a-z]+/[a-z0-9._/-]+:[a-z0-9._-]+$`)
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(read("../Dockerfile"), -1)
	if len(from) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	for _, m := range from {
		if !fully.MatchString(m[1]) {
			t.Errorf("Dockerfile: FROM %s: name the registry and the tag (docker.io/library/…:tag)", m[1])
		}
	}
	if !regexp.MustCompile(`(?m)^HEALTHCHECK .*\["/tsunagu", "health"\]`).MatchString(read("../Dockerfile")) {
		t.Error("Dockerfile: no HEALTHCHECK by tsunagu health")
	}

	var compose struct {
		Services map[string]struct {
			Image           string   `yaml:"image"`
			Command         []string `yaml:"command"`
			StopGracePeriod string   `yaml:"stop_grace_period"`
			ReadOnly        bool     `yaml:"read_only"`
			CapDrop         []string `yaml:"cap_drop"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(read("../deploy/compose.yaml")), &compose); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	redisSvc, app := compose.Services["redis"], compose.Services["tsunagu"]
	if !fully.MatchString(redisSvc.Image) || !strings.Contains(redisSvc.Image, "/redis:7.") {
		t.Errorf("compose: redis image %q: want a fully named redis 7.x", redisSvc.Image)
	}
	args := strings.Join(redisSvc.Command, " ")
	for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
		if !strings.Contains(args, want) {
			t.Errorf("compose: redis runs %q, without %s", args, want)
		}
	}
	grace, err := time.ParseDuration(app.StopGracePeriod)
	if err != nil || grace <= Defaults().ShutdownTimeout {
		t.Errorf("compose: stop_grace_period %q: want longer than TSUNAGU_SHUTDOWN_TIMEOUT's %v", app.StopGracePeriod, Defaults().ShutdownTimeout)
	}
	if !app.ReadOnly || !slices.Contains(app.CapDrop, "ALL") {
		t.Error("compose: tsunagu should run read-only with every capability dropped")
	}

	unit := read("../deploy/tsunagu.service")
	stop := "none"
	if m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\S+)`).FindStringSubmatch(unit); m != nil {
		stop = m[1]
	}
	if d, err := time.ParseDuration(stop); err != nil || d <= Defaults().ShutdownTimeout {
		t.Errorf("tsunagu.service: TimeoutStopSec=%s: want longer than TSUNAGU_SHUTDOWN_TIMEOUT's %v", stop, Defaults().ShutdownTimeout)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "EnvironmentFile=/etc/tsunagu/tsunagu.env"} {
		if !strings.Contains(unit, want) {
			t.Errorf("tsunagu.service lacks %q", strings.TrimSpace(want))
		}
	}
}
