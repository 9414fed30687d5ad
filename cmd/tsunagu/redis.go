package main

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterReload is how often a cluster client re-reads the slot map
// unasked. go-redis re-reads it when a node answers MOVED, but not when a
// crashed master's address merely refuses connections: with its default
// (a minute), serve would keep dialling the dead node that long after a
// replica had taken over. CLUSTER SLOTS every few seconds costs nothing.
const clusterReload = 2 * time.Second

// openRedis opens the client the options name: one node, Sentinel or Cluster.
func openRedis(o *redis.UniversalOptions) redis.UniversalClient {
	if o.MasterName == "" && (len(o.Addrs) > 1 || o.IsClusterMode) {
		co := o.Cluster()
		co.ClusterStateReloadInterval = clusterReload
		return redis.NewClusterClient(co)
	}
	return redis.NewUniversalClient(o)
}
