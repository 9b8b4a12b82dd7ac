//go:build tools

// Package tools records the commands that scripts/setup-engine.sh builds, so `go mod tidy` keeps their deps.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
