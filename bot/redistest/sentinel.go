package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a master, one replica and three sentinels watching them, on
// loopback, started by a test and stopped at cleanup. The sentinels agree
// a master is down after a second without an answer.
type Sentinel struct {
	t         testing.TB
	name      string
	master    *Server
	replica   *Server
	sentinels []*exec.Cmd
	ports     []int
}

// StartSentinel starts the set and waits until every sentinel knows the
// master, its replica and the other sentinels.
func StartSentinel(t testing.TB, masterName string) *Sentinel {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server not found: install redis-server (.ci/run does)")
	}
	ports := freePorts(t, 5)
	s := &Sentinel{t: t, name: masterName, ports: ports[2:]}
	t.Cleanup(s.stop)
	// Both are stopped by s.stop at cleanup.
	s.master = &Server{t: t, dir: t.TempDir(), port: ports[0]}
	s.master.start()
	s.replica = &Server{t: t, dir: t.TempDir(), port: ports[1], args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(ports[0])}}
	s.replica.start()
	for _, p := range s.ports {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
`, p, dir, filepath.Join(dir, "sentinel.log"), masterName, ports[0], masterName, masterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server", conf, "--sentinel")
		if err := cmd.Start(); err != nil {
			t.Fatalf("redistest: start sentinel: %v", err)
		}
		s.sentinels = append(s.sentinels, cmd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range s.ports {
		sc := redis.NewSentinelClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), MaxRetries: -1})
		for {
			m, err := sc.Master(ctx, masterName).Result()
			if err == nil && m["num-slaves"] == "1" && m["num-other-sentinels"] == "2" {
				break
			}
			if ctx.Err() != nil {
				sc.Close()
				t.Fatalf("redistest: sentinel on %d does not see the set: %v %v", p, m, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sc.Close()
	}
	// The replica must hold the master's data before a test leans on it: a
	// replica still syncing is counted by Sentinel but holds nothing yet.
	rc := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])), MaxRetries: -1})
	for {
		info, err := rc.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if ctx.Err() != nil {
			rc.Close()
			t.Fatalf("redistest: the replica never synced with its master: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.Close()
	return s
}

// URL is the redis-sentinel:// URL of REDIS_URL naming the set.
func (s *Sentinel) URL() string {
	hosts := make([]string, len(s.ports))
	for i, p := range s.ports {
		hosts[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return "redis-sentinel://" + strings.Join(hosts, ",") + "/" + s.name
}

// Master is the address of the master the set started with.
func (s *Sentinel) Master() string { return s.master.Addr() }

// KillMaster kills the master with SIGKILL and waits until the sentinels
// have promoted the replica and it takes writes. It returns its address.
func (s *Sentinel) KillMaster(ctx context.Context) (string, error) {
	s.master.Stop()
	want := s.replica.Addr()
	sc := redis.NewSentinelClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports[0])), MaxRetries: -1})
	defer sc.Close()
	rdb := redis.NewClient(&redis.Options{Addr: want, MaxRetries: -1})
	defer rdb.Close()
	for {
		addr, err := sc.GetMasterAddrByName(ctx, s.name).Result()
		if err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == want {
			if role, err := rdb.Do(ctx, "ROLE").Slice(); err == nil && len(role) > 0 && role[0] == "master" {
				return want, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the sentinels did not promote %s: %w", want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Sentinel) stop() {
	for _, c := range s.sentinels {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	s.sentinels = nil
	s.replica.Stop()
	s.master.Stop()
}
