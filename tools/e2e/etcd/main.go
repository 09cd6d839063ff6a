// etcd for the real-engine tier: upstream's server/main.go is this one call, but its module has local replaces,
// so `go install go.etcd.io/etcd/server/v3@v3.6.14` cannot build it (server/go.mod, the replace block).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
