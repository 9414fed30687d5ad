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

// Cluster is a Redis Cluster of redis-servers on loopback started by a
// test: masters, each with its replicas, a short node timeout so that a
// master's death is noticed and failed over within seconds. Everything is
// stopped and removed at cleanup.
type Cluster struct {
	t     testing.TB
	nodes []*clusterNode
}

type clusterNode struct {
	port, bus int
	dir       string
	cmd       *exec.Cmd
}

func (n *clusterNode) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// NodeTimeout is the clusters' cluster-node-timeout: a master silent this
// long is marked failing, and a replica takes over soon after.
const NodeTimeout = time.Second

// StartCluster starts masters*(1+replicas) nodes and joins them with
// `redis-cli --cluster create`, then waits until every node sees the
// cluster whole.
func StartCluster(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("redistest: %s not found: install redis-server and redis-tools (.ci/run does)", bin)
		}
	}
	n := masters * (1 + replicas)
	ports := freePorts(t, 2*n)
	c := &Cluster{t: t}
	t.Cleanup(c.stop)
	root := t.TempDir()
	for i := range n {
		node := &clusterNode{port: ports[2*i], bus: ports[2*i+1], dir: filepath.Join(root, strconv.Itoa(i))}
		if err := os.Mkdir(node.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, node)
		c.start(node)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitOK(ctx); err != nil {
		t.Fatalf("redistest: cluster did not form: %v", err)
	}
	return c
}

func (c *Cluster) start(n *clusterNode) {
	c.t.Helper()
	n.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(n.bus),
		"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
		"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout/time.Millisecond)),
		// Fail over however long the replica was apart from its master:
		// on loopback it never is for long, and the test wants a failover.
		"--cluster-replica-validity-factor", "0",
		"--save", "", "--appendonly", "no", "--dir", n.dir,
		"--logfile", filepath.Join(n.dir, "redis.log"))
	if err := n.cmd.Start(); err != nil {
		c.t.Fatalf("redistest: start redis-server: %v", err)
	}
	if err := awaitPing(n.addr()); err != nil {
		c.t.Fatalf("redistest: cluster node %s did not answer: %v", n.addr(), err)
	}
}

// Addrs are every node's host:port, as REDIS_CLUSTER_ADDRS takes them.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr()
	}
	return out
}

// Client opens a cluster client, closed at cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Node is one cluster node as another node sees it (CLUSTER NODES).
type Node struct {
	ID, Addr string
	Master   bool
	// MasterID is the master a replica follows.
	MasterID string
	Failed   bool
}

// Nodes lists the nodes as the first live node sees them.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	var lastErr error
	for _, n := range c.nodes {
		if n.cmd == nil {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1})
		out, err := rdb.ClusterNodes(ctx).Result()
		rdb.Close()
		if err != nil {
			lastErr = err
			continue
		}
		var nodes []Node
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			flags := "," + f[2] + ","
			nodes = append(nodes, Node{
				ID: f[0], Addr: addr, Master: strings.Contains(flags, ",master,"), MasterID: strings.Trim(f[3], "-"),
				Failed: strings.Contains(flags, ",fail,") || strings.Contains(flags, ",fail?,"),
			})
		}
		return nodes, nil
	}
	return nil, fmt.Errorf("no live node answered: %v", lastErr)
}

// Failover makes a replica of master take its place, by agreement
// (CLUSTER FAILOVER on the replica): the master stops taking writes until
// the replica has them all, so nothing acknowledged is lost. It returns
// the new master's address once the cluster is whole again.
func (c *Cluster) Failover(ctx context.Context, master string) (string, error) {
	replicas, err := c.replicasOf(ctx, master)
	if err != nil {
		return "", err
	}
	replica := replicas[0]
	rdb := redis.NewClient(&redis.Options{Addr: replica, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.ClusterFailover(ctx).Err(); err != nil {
		return "", fmt.Errorf("CLUSTER FAILOVER on %s: %w", replica, err)
	}
	return replica, c.waitMaster(ctx, replica)
}

// Kill kills the node at addr with SIGKILL, as a crash would.
func (c *Cluster) Kill(addr string) error {
	for _, n := range c.nodes {
		if n.addr() == addr && n.cmd != nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
			n.cmd = nil
			return nil
		}
	}
	return fmt.Errorf("no live node %s", addr)
}

// KillMaster kills the master at addr with SIGKILL and waits until one of
// its replicas has taken its place (after NodeTimeout and an election) and
// the cluster is whole again. It returns the new master.
func (c *Cluster) KillMaster(ctx context.Context, master string) (string, error) {
	replicas, err := c.replicasOf(ctx, master)
	if err != nil {
		return "", err
	}
	if err := c.Kill(master); err != nil {
		return "", err
	}
	for {
		for _, r := range replicas {
			rdb := redis.NewClient(&redis.Options{Addr: r, MaxRetries: -1})
			role, err := rdb.Do(ctx, "ROLE").Slice()
			rdb.Close()
			if err == nil && len(role) > 0 && role[0] == "master" {
				return r, c.WaitOK(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no replica took over from %s: %w", master, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replicasOf finds the live replicas of the master at addr.
func (c *Cluster) replicasOf(ctx context.Context, master string) ([]string, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var id string
	for _, n := range nodes {
		if n.Addr == master {
			id = n.ID
		}
	}
	var out []string
	for _, n := range nodes {
		if !n.Master && n.MasterID == id && !n.Failed {
			out = append(out, n.Addr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("master %s has no live replica", master)
	}
	return out, nil
}

func (c *Cluster) waitMaster(ctx context.Context, addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	for {
		if role, err := rdb.Do(ctx, "ROLE").Slice(); err == nil && len(role) > 0 && role[0] == "master" {
			return c.WaitOK(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become master: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Masters are the addresses of the live masters.
func (c *Cluster) Masters(ctx context.Context) ([]string, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes {
		if n.Master && !n.Failed {
			out = append(out, n.Addr)
		}
	}
	return out, nil
}

// WaitOK waits until every live node reports cluster_state:ok.
func (c *Cluster) WaitOK(ctx context.Context) error {
	for {
		ok := true
		for _, n := range c.nodes {
			if n.cmd == nil {
				continue
			}
			rdb := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1})
			info, err := rdb.ClusterInfo(ctx).Result()
			rdb.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ok: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) stop() {
	for _, n := range c.nodes {
		if n.cmd != nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
			n.cmd = nil
		}
	}
}

// freePorts returns n distinct free loopback ports, all held open while
// they are picked so that none is handed out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		ls = append(ls, l)
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out
}
