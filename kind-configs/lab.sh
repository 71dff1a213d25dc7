#!/usr/bin/env bash
# The fedmesh lab on real Kubernetes: three kind clusters (east, west, central) on one machine
# with Docker, the mesh deployed from deploy/ and the demo app from kind-configs/demo/.
#
#   kind-configs/lab.sh up                     create and deploy everything (idempotent)
#   kind-configs/lab.sh status                 clusters, pods and the controller's view
#   kind-configs/lab.sh traffic                follow the load generator: who answers
#   kind-configs/lab.sh kill-cluster west      stop west's node containers (docker kill)
#   kind-configs/lab.sh revive-cluster west    start them again
#   kind-configs/lab.sh down                   delete the clusters and the lab's state
#
# Needs docker (a reachable daemon), kind >= 0.20 and kubectl >= 1.27, and a JDK 17 with Maven
# to build the image. The lab's secrets live in $FEDMESH_KIND_STATE (default .fedmesh-kind).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
state="${FEDMESH_KIND_STATE:-$root/.fedmesh-kind}"
clusters=(east west central)
management=east
image="${FEDMESH_IMAGE:-fedmesh/fedmesh:dev}"
init_image="${FEDMESH_INIT_IMAGE:-docker.io/istio/proxyv2:1.24.2}"
trust_domain="${FEDMESH_TRUST_DOMAIN:-fedmesh.local}"
started=$SECONDS

step() { printf '[%4ds] %s\n' "$((SECONDS - started))" "$*"; }
die() {
  printf 'lab.sh: %s\n' "$*" >&2
  exit 1
}
k() {
  local cluster=$1
  shift
  kubectl --context "kind-$cluster" "$@"
}
fedmesh() { "$root/fedmesh" "$@"; }

is_cluster() {
  local name
  for name in "${clusters[@]}"; do
    [[ "$name" == "$1" ]] && return 0
  done
  return 1
}

# version_at_least 0.20.0 0.23.0: whether the second version is at least the first.
version_at_least() {
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$1" ]]
}

check_tools() {
  command -v docker >/dev/null 2>&1 ||
    die "docker: not found (expected: Docker Engine 20.10 or newer, https://docs.docker.com/engine/install/)"
  docker info >/dev/null 2>&1 ||
    die "docker: the daemon does not answer 'docker info' (expected: a running daemon this user may use)"
  command -v kind >/dev/null 2>&1 ||
    die "kind: not found (expected: kind 0.20 or newer, https://kind.sigs.k8s.io/docs/user/quick-start/)"
  local kind_version
  kind_version="$(kind version | sed -E 's/^kind v?([0-9.]+).*/\1/')"
  version_at_least 0.20.0 "$kind_version" ||
    die "kind: version $kind_version (expected: 0.20 or newer, for the v1alpha4 node labels used here)"
  command -v kubectl >/dev/null 2>&1 ||
    die "kubectl: not found (expected: kubectl 1.27 or newer)"
  local kubectl_minor
  kubectl_minor="$(kubectl version --client -o yaml | sed -nE 's/^ *minor: "?([0-9]+).*/\1/p' | head -n1)"
  [[ -n "$kubectl_minor" && "$kubectl_minor" -ge 27 ]] ||
    die "kubectl: client minor version '${kubectl_minor:-?}' (expected: 1.27 or newer)"
  command -v mvn >/dev/null 2>&1 || die "mvn: not found (expected: Maven 3.8+ and a JDK 17, to build the image)"
}

# The node's address on the docker network the kind clusters share.
node_ip() {
  docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'
}

worker_of() { echo "$1-worker"; }

create_clusters() {
  local cluster existing
  existing="$(kind get clusters 2>/dev/null || true)"
  for cluster in "${clusters[@]}"; do
    if grep -qx "$cluster" <<<"$existing"; then
      step "cluster $cluster exists"
    else
      step "creating cluster $cluster (kind-configs/$cluster.yaml)"
      kind create cluster --config "$here/$cluster.yaml" --wait 180s
    fi
  done
}

build_image() {
  step "building $image with Jib (mvn -Pimages; no Docker daemon needed for the build)"
  (cd "$root" && mvn -B -q -Pimages -pl cli -am package -DskipTests -Dfedmesh.image="$image")
  local cluster
  for cluster in "${clusters[@]}"; do
    step "loading $image into $cluster"
    kind load image-archive "$root/cli/target/jib-image.tar" --name "$cluster"
  done
  step "pulling the init image $init_image (sh, iptables, ip) and loading it"
  docker pull -q "$init_image" >/dev/null
  for cluster in "${clusters[@]}"; do
    kind load docker-image "$init_image" --name "$cluster"
  done
}

# The shared root, an intermediate per cluster (its agent's CA) and one for the control plane,
# the controller's and each gateway's SVIDs, agent tokens and the admin token.
make_credentials() {
  mkdir -p "$state"
  chmod 700 "$state"
  if [[ ! -f "$state/root/root-cert.pem" ]]; then
    step "creating the mesh's root CA ($trust_domain)"
    fedmesh ca init --trust-domain "$trust_domain" --out "$state/root"
  fi
  local cluster
  for cluster in control-plane "${clusters[@]}"; do
    if [[ ! -f "$state/$cluster/ca-cert.pem" ]]; then
      step "issuing the intermediate CA of $cluster"
      fedmesh ca intermediate --cluster "$cluster" --root "$state/root" --out "$state/$cluster"
    fi
  done
  if [[ ! -f "$state/controller-tls/cert-chain.pem" ]]; then
    fedmesh ca control-plane-cert --ca "$state/control-plane" --component controller \
      --out "$state/controller-tls"
  fi
  for cluster in "${clusters[@]}"; do
    if [[ ! -f "$state/$cluster-gateway-tls/cert-chain.pem" ]]; then
      fedmesh ca control-plane-cert --ca "$state/$cluster" --component gateway \
        --out "$state/$cluster-gateway-tls"
    fi
    if [[ ! -f "$state/$cluster.token" ]]; then
      head -c 32 /dev/urandom | base64 | tr -d '\n' >"$state/$cluster.token"
    fi
  done
  if [[ ! -f "$state/admin-token" ]]; then
    head -c 32 /dev/urandom | base64 | tr -d '\n' >"$state/admin-token"
  fi
  {
    echo "agents:"
    for cluster in "${clusters[@]}"; do
      printf '  - {name: %s-agent, tokenSha256: %s, clusters: [%s]}\n' \
        "$cluster" "$(sha256sum <"$state/$cluster.token" | cut -d' ' -f1)" "$cluster"
    done
  } >"$state/agents.yaml"
  chmod 600 "$state"/*.token "$state/admin-token" "$state/agents.yaml"
}

# kubectl create ... --dry-run=client -o yaml | kubectl apply: create or update, idempotent.
apply_secret() {
  local cluster=$1 namespace=$2 name=$3
  shift 3
  k "$cluster" -n "$namespace" create secret generic "$name" "$@" --dry-run=client -o yaml |
    k "$cluster" apply -f - >/dev/null
}

apply_root_configmap() {
  local cluster=$1 namespace=$2
  k "$cluster" -n "$namespace" create configmap fedmesh-root-cert \
    --from-file=root-cert.pem="$state/root/root-cert.pem" --dry-run=client -o yaml |
    k "$cluster" apply -f - >/dev/null
}

# The overlay as kustomize renders it, with the node addresses only known once the nodes run
# (east's, where the controller's NodePort is, and the cluster's own, its gateway's NodePort) and
# the images this run uses.
render_overlay() {
  local cluster=$1 controller_ip=$2 gateway_ip=$3
  kubectl kustomize "$root/deploy/overlays/$cluster" |
    sed -E -e "s|__CONTROLLER_NODE_IP__|$controller_ip|g" -e "s|__GATEWAY_NODE_IP__|$gateway_ip|g" \
      -e "s|^( *proxy-init-image:).*|\1 $init_image|" -e "s|^( *proxy-image:).*|\1 $image|" \
      -e "s|^( *image:) fedmesh/fedmesh:dev\$|\1 $image|"
}

deploy_mesh() {
  local east_ip cluster
  east_ip="$(node_ip "$(worker_of "$management")")"
  [[ -n "$east_ip" ]] || die "cannot find the address of $(worker_of "$management") on the kind network"
  for cluster in "${clusters[@]}"; do
    step "deploying the mesh in $cluster"
    k "$cluster" create namespace fedmesh-system --dry-run=client -o yaml | k "$cluster" apply -f - >/dev/null
    # Every file the CA commands wrote (certificates, key, trust domain), as deploy/README.md lists.
    apply_secret "$cluster" fedmesh-system fedmesh-cluster-ca --from-file="$state/$cluster/"
    apply_secret "$cluster" fedmesh-system fedmesh-agent-token --from-file=token="$state/$cluster.token"
    apply_secret "$cluster" fedmesh-system fedmesh-eastwestgateway-tls \
      --from-file="$state/$cluster-gateway-tls/"
    apply_root_configmap "$cluster" fedmesh-system
    if [[ "$cluster" == "$management" ]]; then
      apply_secret "$cluster" fedmesh-system fedmesh-controller-tls --from-file="$state/controller-tls/"
      apply_secret "$cluster" fedmesh-system fedmesh-agent-tokens --from-file=agents.yaml="$state/agents.yaml"
      apply_secret "$cluster" fedmesh-system fedmesh-admin-token --from-file=admin-token="$state/admin-token"
    fi
    render_overlay "$cluster" "$east_ip" "$(node_ip "$(worker_of "$cluster")")" |
      k "$cluster" apply -f - >/dev/null
  done
  step "waiting for etcd and the controller in $management"
  k "$management" -n fedmesh-system rollout status statefulset/etcd --timeout=300s
  k "$management" -n fedmesh-system rollout status deployment/fedmesh-controller --timeout=300s
  for cluster in "${clusters[@]}"; do
    step "waiting for the agent and the gateway in $cluster"
    k "$cluster" -n fedmesh-system rollout status deployment/fedmesh-agent --timeout=300s
    k "$cluster" -n fedmesh-system rollout status deployment/fedmesh-eastwestgateway --timeout=300s
  done
}

deploy_demo() {
  local cluster
  for cluster in "${clusters[@]}"; do
    step "deploying the demo app in $cluster"
    k "$cluster" create namespace shop --dry-run=client -o yaml | k "$cluster" apply -f - >/dev/null
    apply_root_configmap "$cluster" shop
    sed -E "s|^( *image:) fedmesh/fedmesh:dev\$|\1 $image|" "$here/demo/$cluster.yaml" |
      k "$cluster" apply -f - >/dev/null
  done
  for cluster in "${clusters[@]}"; do
    k "$cluster" -n shop wait --for=condition=Available deployment --all --timeout=300s >/dev/null
  done
}

# Runs "$@" (a fedmesh command) against the controller's admin API through a port-forward.
with_admin() {
  local port=15914 forward status=0
  k "$management" -n fedmesh-system port-forward svc/fedmesh-controller "$port:15014" >/dev/null 2>&1 &
  forward=$!
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    [[ $tries -lt 50 ]] || {
      kill "$forward" 2>/dev/null || true
      die "kubectl port-forward to the controller's admin port did not come up"
    }
    sleep 0.2
  done
  fedmesh "$@" --controller "127.0.0.1:$port" --admin-token-file "$state/admin-token" \
    --ca-file "$state/root/root-cert.pem" || status=$?
  kill "$forward" 2>/dev/null || true
  wait "$forward" 2>/dev/null || true
  return "$status"
}

up() {
  check_tools
  create_clusters
  build_image
  make_credentials
  deploy_mesh
  deploy_demo
  step "applying the failover policy (kind-configs/failover.yaml)"
  with_admin apply -f "$here/failover.yaml"
  step "the lab is up: 'kind-configs/lab.sh traffic' follows the load, 'kill-cluster west' fails it over"
}

status() {
  local cluster
  for cluster in "${clusters[@]}"; do
    echo "== $cluster"
    k "$cluster" get pods -n fedmesh-system -o wide 2>/dev/null || echo "(not reachable)"
    k "$cluster" get pods -n shop 2>/dev/null || true
  done
  with_admin status
}

traffic() {
  k "$management" -n shop logs deployment/loadgen -c load --tail=20 -f
}

nodes_of() {
  docker ps -a -q --filter "label=io.x-k8s.kind.cluster=$1"
}

kill_cluster() {
  local cluster=$1 nodes
  is_cluster "$cluster" || die "kill-cluster: '$cluster' (expected: one of ${clusters[*]})"
  [[ "$cluster" != "$management" ]] ||
    die "kill-cluster: $management runs etcd and the controller in this lab; kill west or central"
  mapfile -t nodes < <(nodes_of "$cluster")
  [[ ${#nodes[@]} -gt 0 ]] || die "kill-cluster: no node containers of $cluster"
  step "killing $cluster's nodes (${#nodes[@]} containers)"
  docker kill "${nodes[@]}" >/dev/null
  step "$cluster is down: its agent's session lapses and its endpoints are demoted; watch 'lab.sh traffic'"
}

revive_cluster() {
  local cluster=$1 nodes
  is_cluster "$cluster" || die "revive-cluster: '$cluster' (expected: one of ${clusters[*]})"
  mapfile -t nodes < <(nodes_of "$cluster")
  [[ ${#nodes[@]} -gt 0 ]] || die "revive-cluster: no node containers of $cluster"
  step "starting $cluster's nodes"
  docker start "${nodes[@]}" >/dev/null
  k "$cluster" wait --for=condition=Ready nodes --all --timeout=300s >/dev/null
  k "$cluster" -n fedmesh-system rollout status deployment/fedmesh-agent --timeout=300s
  step "$cluster is back: its agent reconnects and traffic returns"
}

down() {
  local cluster
  if command -v kind >/dev/null 2>&1; then
    for cluster in "${clusters[@]}"; do
      step "deleting cluster $cluster"
      kind delete cluster --name "$cluster"
    done
  fi
  rm -rf "$state"
  step "the lab is gone"
}

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local command=${1:-}
  case "$command" in
    up) up ;;
    down) down ;;
    status) status ;;
    traffic) traffic ;;
    kill-cluster)
      [[ $# -eq 2 ]] || die "kill-cluster: expected a cluster name (${clusters[*]})"
      kill_cluster "$2"
      ;;
    revive-cluster)
      [[ $# -eq 2 ]] || die "revive-cluster: expected a cluster name (${clusters[*]})"
      revive_cluster "$2"
      ;;
    -h | --help | help | "") usage ;;
    *) die "unknown command '$command' (expected: up, down, status, traffic, kill-cluster, revive-cluster)" ;;
  esac
}

main "$@"
