package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The schemes of a REDIS_URL that names Sentinels rather than Redis itself.
const (
	sentinelScheme    = "redis-sentinel"
	sentinelTLSScheme = "rediss-sentinel"
)

// defaultSentinelPort is Sentinel's own port, taken when an address has none.
const defaultSentinelPort = "26379"

// RedisOptions turns the Redis settings into options for
// redis.NewUniversalClient, which then is a single-node, a Sentinel
// (failover) or a Cluster client; the rest of the code does not know which.
// No error carries the URL or its password.
func (c Config) RedisOptions() (*redis.UniversalOptions, error) {
	sentinelURL := hasScheme(c.RedisURL, sentinelScheme) || hasScheme(c.RedisURL, sentinelTLSScheme)
	switch {
	case len(c.RedisClusterAddrs) > 0 && (c.RedisSentinelMaster != "" || len(c.RedisSentinelAddrs) > 0 || sentinelURL):
		return nil, errors.New("REDIS_CLUSTER_ADDRS and Sentinel (REDIS_SENTINEL_*, redis-sentinel://) exclude each other: a Redis Cluster fails over by itself")
	case sentinelURL && (c.RedisSentinelMaster != "" || len(c.RedisSentinelAddrs) > 0):
		return nil, errors.New("REDIS_URL names Sentinels already: leave REDIS_SENTINEL_MASTER and REDIS_SENTINEL_ADDRS unset, or use a redis:// URL for the credentials")
	case sentinelURL:
		return sentinelURLOptions(c.RedisURL)
	case c.RedisSentinelMaster != "" || len(c.RedisSentinelAddrs) > 0:
		return c.sentinelEnvOptions()
	case len(c.RedisClusterAddrs) > 0:
		return c.clusterOptions()
	}
	o, err := parseRedisURL(c.RedisURL)
	if err != nil {
		return nil, err
	}
	return universal(o), nil
}

// sentinelEnvOptions reads REDIS_SENTINEL_MASTER and REDIS_SENTINEL_ADDRS;
// REDIS_URL still gives the credentials, database and TLS of the master.
func (c Config) sentinelEnvOptions() (*redis.UniversalOptions, error) {
	if c.RedisSentinelMaster == "" || len(c.RedisSentinelAddrs) == 0 {
		return nil, errors.New("REDIS_SENTINEL_MASTER and REDIS_SENTINEL_ADDRS go together: the master's name and the sentinels' host:port list")
	}
	addrs, err := hostPorts("REDIS_SENTINEL_ADDRS", c.RedisSentinelAddrs, defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	o, err := parseRedisURL(c.RedisURL)
	if err != nil {
		return nil, err
	}
	u := universal(o)
	u.Addrs, u.MasterName = addrs, c.RedisSentinelMaster
	hostless(u)
	return u, nil
}

// clusterOptions reads REDIS_CLUSTER_ADDRS; REDIS_URL still gives the
// credentials and TLS. A cluster has database 0 only.
func (c Config) clusterOptions() (*redis.UniversalOptions, error) {
	addrs, err := hostPorts("REDIS_CLUSTER_ADDRS", c.RedisClusterAddrs, "")
	if err != nil {
		return nil, err
	}
	o, err := parseRedisURL(c.RedisURL)
	if err != nil {
		return nil, err
	}
	if o.DB != 0 {
		return nil, fmt.Errorf("REDIS_URL: database %d with REDIS_CLUSTER_ADDRS: a Redis Cluster has database 0 only", o.DB)
	}
	if o.Network == "unix" {
		return nil, errors.New("REDIS_URL: a unix:// URL with REDIS_CLUSTER_ADDRS: cluster nodes are reached over TCP")
	}
	u := universal(o)
	u.Addrs = addrs
	hostless(u)
	// One seed address is enough to find the others; say it is a cluster.
	u.IsClusterMode = true
	return u, nil
}

// sentinelURLOptions reads
//
//	redis-sentinel://[[user]:password@]host[:port][,host[:port]…]/master[/db][?sentinel_password=…&option=…]
//
// (rediss-sentinel:// for TLS). The userinfo is the master's; the
// sentinels' own password, if they have one, is sentinel_password (and
// sentinel_username). Other query options are go-redis's, as in redis://.
func sentinelURLOptions(raw string) (*redis.UniversalOptions, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	authority, path, _ := strings.Cut(rest, "/")
	path, query, _ := strings.Cut(path, "?")
	if i := strings.IndexAny(authority, "?"); i >= 0 {
		authority, query = authority[:i], authority[i+1:]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	addrs, err := hostPorts("REDIS_URL", splitList(hosts), defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	master, db, _ := strings.Cut(path, "/")
	if master == "" {
		return nil, errors.New("REDIS_URL: a redis-sentinel:// URL names the master after the hosts: redis-sentinel://host:26379/mymaster")
	}
	if master, err = url.PathUnescape(master); err != nil {
		return nil, errors.New("REDIS_URL: the master's name is not a valid URL path")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("REDIS_URL: the query is not valid")
	}
	sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")

	// The rest is a plain redis:// URL to go-redis, which reads the
	// credentials, database, TLS and options as it always does.
	plain := "redis"
	if scheme == sentinelTLSScheme {
		plain = "rediss"
	}
	plain += "://" + userinfo + addrs[0] + "/" + db
	if len(q) > 0 {
		plain += "?" + q.Encode()
	}
	o, err := redis.ParseURL(plain)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", redactErr(err, plain))
	}
	u := universal(o)
	u.Addrs, u.MasterName = addrs, master
	u.SentinelUsername, u.SentinelPassword = sentinelUser, sentinelPass
	hostless(u)
	return u, nil
}

// hostless forgets the TLS server name go-redis took from the URL's host:
// the nodes are known by other addresses (the master only once Sentinel
// names it), and Go's TLS dial then verifies each against the address it
// dials.
func hostless(u *redis.UniversalOptions) {
	if u.TLSConfig != nil {
		u.TLSConfig.ServerName = ""
	}
}

// parseRedisURL reads a redis://, rediss:// or unix:// URL.
func parseRedisURL(raw string) (*redis.Options, error) {
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", redactErr(err, raw))
	}
	return o, nil
}

// universal carries a single node's options over to UniversalOptions.
func universal(o *redis.Options) *redis.UniversalOptions {
	u := &redis.UniversalOptions{
		Addrs:        []string{o.Addr},
		DB:           o.DB,
		Username:     o.Username,
		Password:     o.Password,
		TLSConfig:    o.TLSConfig,
		Protocol:     o.Protocol,
		DialTimeout:  o.DialTimeout,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		PoolSize:     o.PoolSize,
		MinIdleConns: o.MinIdleConns,
		MaxRetries:   o.MaxRetries,
		ClientName:   o.ClientName,
	}
	if o.Network == "unix" {
		// UniversalOptions has no Network field; a dialer keeps unix:// URLs working.
		var d net.Dialer
		u.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", addr)
		}
	}
	return u
}

// hostPorts checks a list of addresses, adding defaultPort where one has
// no port (an empty defaultPort makes the port required).
func hostPorts(name string, list []string, defaultPort string) ([]string, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no address", name)
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		host, port, err := net.SplitHostPort(a)
		if err != nil && defaultPort != "" && !strings.Contains(strings.Trim(a, "[]"), ":") {
			host, port, err = strings.Trim(a, "[]"), defaultPort, nil
		}
		if err == nil {
			n, perr := strconv.Atoi(port)
			if perr != nil || n < 1 || n > 65535 || host == "" {
				err = errors.New("bad")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not host:port", name, a)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func hasScheme(raw, scheme string) bool {
	return len(raw) > len(scheme)+3 && strings.EqualFold(raw[:len(scheme)+3], scheme+"://")
}

// redactErr keeps a parse error but never the raw URL, which may hold a
// password: net/url quotes the whole URL in its errors, so only the reason
// is kept of those.
func redactErr(err error, raw string) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	msg := err.Error()
	if raw != "" && strings.Contains(msg, raw) {
		msg = strings.ReplaceAll(msg, raw, "<REDIS_URL>")
	}
	return errors.New(msg)
}
