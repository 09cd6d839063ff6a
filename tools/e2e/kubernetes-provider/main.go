// pulumi-resource-kubernetes for the real-engine tier. Upstream's cmd/pulumi-resource-kubernetes/main.go embeds
// schema-embed.json and terraform-mapping-embed.json, which `go generate` writes and .gitignore keeps out of the
// module zip; tools/e2e/build.sh writes the same two files into gen/ (as upstream's generate.go does: the schema
// with its version set, both re-marshalled) and this main serves them through the provider's importable Serve.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed gen/schema.json
var pulumiSchema []byte

//go:embed gen/terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
