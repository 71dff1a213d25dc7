#!/usr/bin/env bash
# Installs what fedmesh needs beyond a JDK 17+ and Maven: etcd (Debian's etcd-server),
# openssl, which the certificate tests use to check what the CA issues, iptables and iproute2
# (ip), with which the root-only interception test applies the injector's rules in network
# namespaces, chromium with its chromedriver, in which the web UI's test runs the page, shellcheck,
# which checks every shell script of the repository, and, when there is no kubectl, Debian's
# kubernetes-client (kubectl 1.20, whose `kubectl kustomize` renders deploy/'s overlays in the
# deploy module's tests; a newer kubectl already installed is kept).
# Safe to run any number of times: it installs only what is missing.
set -euo pipefail

need=()
if ! command -v etcd >/dev/null 2>&1 && [[ ! -x /usr/bin/etcd ]]; then
  need+=(etcd-server)
fi
if [[ ! -x /usr/bin/openssl ]]; then
  need+=(openssl)
fi
if ! command -v iptables >/dev/null 2>&1 && [[ ! -x /usr/sbin/iptables ]]; then
  need+=(iptables)
fi
if ! command -v ip >/dev/null 2>&1 && [[ ! -x /usr/sbin/ip ]] && [[ ! -x /sbin/ip ]]; then
  need+=(iproute2)
fi
if [[ ! -x /usr/bin/chromium ]]; then
  need+=(chromium)
fi
if [[ ! -x /usr/bin/chromedriver ]]; then
  need+=(chromium-driver)
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  need+=(shellcheck)
fi
if ! command -v kubectl >/dev/null 2>&1; then
  need+=(kubernetes-client)
fi
if ! command -v setsid >/dev/null 2>&1; then
  need+=(util-linux)
fi

if [[ ${#need[@]} -eq 0 ]]; then
  echo "install-deps: nothing to install"
  exit 0
fi

sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian's package may start an etcd service bound to the default ports; fedmesh starts its
# own etcd processes on ports it chooses, so a packaged service is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
fi
echo "install-deps: done ($(etcd --version 2>/dev/null | head -n1))"
