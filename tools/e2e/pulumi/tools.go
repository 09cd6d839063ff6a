//go:build tools

// The Pulumi CLI is built by package path (go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi); pkg/go.mod
// replaces sdk/v3 with ../sdk, so `go install` refuses it. This file only keeps the module in go.mod.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
