//go:build tools

// The kube-apiserver, kube-controller-manager and kube-scheduler mains are built by package path (go build k8s.io/kubernetes/cmd/...);
// this file only keeps their modules in go.mod. k8s.io/kubernetes requires every staging module at v0.0.0 and
// replaces it with ./staging/src/..., so go.mod replaces each with its published v0.36.3 (kubernetes/kubernetes#79384).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)
