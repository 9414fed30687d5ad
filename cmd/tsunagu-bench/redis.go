package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is the benchmark's own redis-server, so that what it counts
// (commands, bytes, memory) is tsunagu's alone.
type redisServer struct {
	cmd  *exec.Cmd
	port int
	rdb  *redis.Client
}

func startRedis(dir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server (is it installed?): %w", err)
	}
	r := &redisServer{cmd: cmd, port: port, rdb: redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})}
	deadline := time.Now().Add(10 * time.Second)
	for r.rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server did not answer on port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r, nil
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) stop() {
	_ = r.rdb.Close()
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// info reads INFO sections as numbers where they are numbers.
func (r *redisServer) info(ctx context.Context, sections ...string) map[string]float64 {
	out := map[string]float64{}
	s, err := r.rdb.Info(ctx, sections...).Result()
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out
}

// setPerSecond runs redis-benchmark's SET test against the server (in a
// database tsunagu does not use, emptied afterwards): the machine's
// baseline, measured in the same run as tsunagu.
func (r *redisServer) setPerSecond(ctx context.Context) (float64, error) {
	out, err := exec.CommandContext(ctx, "redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(r.port),
		"--dbnum", "15", "-t", "set", "-n", "200000", "-c", "50", "-q").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %w: %s", err, out)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), DB: 15})
	defer c.Close()
	_ = c.FlushDB(ctx).Err()
	// "SET: 71942.45 requests per second, p50=0.343 msec"
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line[strings.LastIndex(line, "\r")+1:])
		if rest, ok := strings.CutPrefix(line, "SET: "); ok {
			f, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err == nil {
				return f, nil
			}
		}
	}
	return 0, fmt.Errorf("redis-benchmark: no SET figure in %q", out)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// rss reads a process's resident set size and its peak, in bytes.
func rss(pid int) (now, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			now = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return now, peak
}
