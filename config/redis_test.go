package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisModes reads each way of naming a Redis and checks which client
// redis.NewUniversalClient will build from it and with what.
func TestRedisModes(t *testing.T) {
	base := map[string]string{
		"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t",
		"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "ss",
	}
	tests := []struct {
		name string
		env  map[string]string
		// want is the client kind: "single", "sentinel" or "cluster".
		want     string
		addrs    []string
		master   string
		db       int
		password string
		sentPass string
		tls      bool
		wantErr  string
	}{
		{name: "default", env: map[string]string{}, want: "single", addrs: []string{"127.0.0.1:6379"}},
		{name: "single with password", env: map[string]string{"REDIS_URL": "redis://:pw@redis:6380/2"},
			want: "single", addrs: []string{"redis:6380"}, db: 2, password: "pw"},
		{name: "sentinel url", env: map[string]string{"REDIS_URL": "redis-sentinel://:pw@s1:26379,s2:26380,s3/mymaster/1?sentinel_password=sp&dial_timeout=3s"},
			want: "sentinel", addrs: []string{"s1:26379", "s2:26380", "s3:26379"}, master: "mymaster", db: 1, password: "pw", sentPass: "sp"},
		{name: "sentinel url, one host, TLS", env: map[string]string{"REDIS_URL": "rediss-sentinel://s1/main"},
			want: "sentinel", addrs: []string{"s1:26379"}, master: "main", tls: true},
		{name: "sentinel url without master", env: map[string]string{"REDIS_URL": "redis-sentinel://s1:26379"},
			wantErr: "names the master"},
		{name: "sentinel url, bad port", env: map[string]string{"REDIS_URL": "redis-sentinel://:hunter2@s1:port/m"},
			wantErr: `"s1:port" is not host:port`},
		{name: "sentinel url, unknown option", env: map[string]string{"REDIS_URL": "redis-sentinel://:hunter2@s1/m?colour=red"},
			wantErr: "REDIS_URL"},
		{name: "sentinel env", env: map[string]string{"REDIS_SENTINEL_MASTER": "mymaster", "REDIS_SENTINEL_ADDRS": " 10.0.0.1:26379, 10.0.0.2 ,",
			"REDIS_URL": "redis://:pw@ignored:1/3"},
			want: "sentinel", addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, master: "mymaster", db: 3, password: "pw"},
		{name: "sentinel env without addrs", env: map[string]string{"REDIS_SENTINEL_MASTER": "mymaster"}, wantErr: "go together"},
		{name: "sentinel addrs without master", env: map[string]string{"REDIS_SENTINEL_ADDRS": "s1:26379"}, wantErr: "go together"},
		{name: "sentinel twice", env: map[string]string{"REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_ADDRS": "s1", "REDIS_URL": "redis-sentinel://s1/m"},
			wantErr: "names Sentinels already"},
		{name: "cluster", env: map[string]string{"REDIS_CLUSTER_ADDRS": "n1:7000,n2:7001,n3:7002", "REDIS_URL": "rediss://:pw@ignored/"},
			want: "cluster", addrs: []string{"n1:7000", "n2:7001", "n3:7002"}, password: "pw", tls: true},
		{name: "cluster, one seed", env: map[string]string{"REDIS_CLUSTER_ADDRS": "[::1]:7000"},
			want: "cluster", addrs: []string{"[::1]:7000"}},
		{name: "cluster needs ports", env: map[string]string{"REDIS_CLUSTER_ADDRS": "n1"}, wantErr: `"n1" is not host:port`},
		{name: "cluster has db 0 only", env: map[string]string{"REDIS_CLUSTER_ADDRS": "n1:7000", "REDIS_URL": "redis://x/4"}, wantErr: "database 0 only"},
		{name: "cluster and sentinel", env: map[string]string{"REDIS_CLUSTER_ADDRS": "n1:7000", "REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_ADDRS": "s1"},
			wantErr: "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.env {
				m[k] = v
			}
			c, err := FromEnv(env(m))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv: error %v, want one saying %q", err, tt.wantErr)
				}
				for _, secret := range []string{"hunter2", ":pw@"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error leaks the password: %q", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			o, err := c.RedisOptions()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.Addrs, tt.addrs) || o.MasterName != tt.master || o.DB != tt.db ||
				o.Password != tt.password || o.SentinelPassword != tt.sentPass || (o.TLSConfig != nil) != tt.tls {
				t.Errorf("got addrs %v master %q db %d password %q sentinel password %q TLS %v",
					o.Addrs, o.MasterName, o.DB, o.Password, o.SentinelPassword, o.TLSConfig != nil)
			}
			if o.TLSConfig != nil && tt.want != "single" && o.TLSConfig.ServerName != "" {
				t.Errorf("TLS server name %q: each node must be verified against its own address", o.TLSConfig.ServerName)
			}
			// The client NewUniversalClient builds is the kind asked for.
			rdb := redis.NewUniversalClient(o)
			defer rdb.Close()
			got := "single"
			switch rdb.(type) {
			case *redis.ClusterClient:
				got = "cluster"
			case *redis.Client:
				if o.MasterName != "" {
					got = "sentinel" // NewFailoverClient returns a *Client too
				}
			}
			if got != tt.want {
				t.Errorf("client %T (%s), want %s", rdb, got, tt.want)
			}
		})
	}
	// A query option of the sentinel URL reaches go-redis.
	c := Defaults()
	c.RedisURL = "redis-sentinel://s1/m?dial_timeout=3s"
	o, err := c.RedisOptions()
	if err != nil || o.DialTimeout != 3*time.Second {
		t.Errorf("dial_timeout not read: %v, %v", o, err)
	}
}

// FuzzRedisURL: no REDIS_URL crashes the reading of it, and the password
// in one never shows in the error.
func FuzzRedisURL(f *testing.F) {
	for _, s := range [][2]string{{"redis", "h:1/0"}, {"redis-sentinel", "a,b:2/m/1?sentinel_password=x"},
		{"rediss-sentinel", "/"}, {"unix", "/tmp/s"}, {"redis-sentinel", "[::1]/m"}, {"redis-sentinel", "a/%zz"},
		{"redis", "h:port/x"}, {"redis-sentinel", "a:99999/m?db=x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, scheme, rest string) {
		if strings.Contains(rest, "@") {
			return // the password would end elsewhere than in the userinfo
		}
		c := Defaults()
		c.RedisURL = scheme + "://u:hunter2@" + rest
		_, err := c.RedisOptions()
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %q", err)
		}
	})
}
