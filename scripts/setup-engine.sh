#!/usr/bin/env bash
# Makes sure the Pulumi engine matching the pinned Python SDK (`pulumi==X` in pyproject.toml) is available:
#
#   * a `pulumi` CLI of version X already on PATH is used as it is; otherwise
#   * `pulumi` is built from the Go module github.com/pulumi/pulumi/pkg/v3@vX (via tools/engine/go.mod) into
#     ${XDG_CACHE_HOME:-$HOME/.cache}/kms-keys-as-code/pulumi-vX/bin, shared by every clone, and hard-linked
#     into the clone's .tools/engine/bin next to two shims that pick the interpreter at run time ($KMS_PYTHON,
#     else $VIRTUAL_ENV/bin/python, else python3): `pulumi-language-python` (tools/engine/kms_language_host.py:
#     the upstream Go language host is not served by the module proxy) and `pulumi-resource-pulumi-python`
#     (tools/engine/kms_provider_host.py: `python -m pulumi.dynamic` that also answers the engine's import).
#   * .tools/pulumi (git-ignored) links to the directory holding the engine.
#
# Usage: bash scripts/setup-engine.sh              ensure the engine (progress on stderr)
#        bash scripts/setup-engine.sh --print-env  ensure it, then print `export` lines for eval on stdout
# A warm run (binaries present) builds nothing and starts no Go tool.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRINT_ENV=0
case "${1:-}" in
  --print-env) PRINT_ENV=1 ;;
  "") ;;
  *) echo "usage: $0 [--print-env]" >&2; exit 2 ;;
esac

log() { echo "setup-engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

VERSION="$(sed -n 's/^[[:space:]]*"pulumi==\([0-9][0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml" | head -n1)"
[ -n "$VERSION" ] || die "no \"pulumi==X\" pin found in $ROOT/pyproject.toml"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/kms-keys-as-code/pulumi-v$VERSION"
BIN="$CACHE/bin"
HOST_SRC="$ROOT/tools/engine/kms_language_host.py"
PROVIDER_HOST_SRC="$ROOT/tools/engine/kms_provider_host.py"

# Writes $2 into file $1 only when the content differs (keeps warm runs write-free), mode 755.
put_file() {
  local dest="$1" content="$2" tmp
  if [ -f "$dest" ] && [ "$(cat "$dest")" = "$content" ]; then return 0; fi
  tmp="$dest.tmp.$$"
  printf '%s\n' "$content" >"$tmp"
  chmod 755 "$tmp"
  mv -f "$tmp" "$dest"
}

build_cli() {
  local go src work ldflags started
  go="$(command -v go || true)"
  [ -n "$go" ] || { [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go; } || true
  [ -n "$go" ] || die "pulumi v$VERSION is not on PATH and no Go toolchain was found to build it"
  src="$ROOT/tools/engine"
  work="$src"
  export GOFLAGS=-mod=mod
  if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$VERSION\$" "$src/go.mod"; then
    # pyproject.toml moved on: build from a scratch copy pinned to the new release; update tools/engine too.
    log "tools/engine/go.mod does not pin pkg/v3 v$VERSION; building from a scratch copy (update go.mod!)"
    work="$(mktemp -d)"
    cp "$src/go.mod" "$src/go.sum" "$src/tools.go" "$work/"
    (cd "$work" && "$go" mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$VERSION" \
      -require="github.com/pulumi/pulumi/sdk/v3@v$VERSION" && "$go" mod tidy) >&2
  fi
  ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
  log "building pulumi v$VERSION from github.com/pulumi/pulumi/pkg/v3 (cold: many minutes on 2 cores)"
  started=$SECONDS
  mkdir -p "$BIN"
  (cd "$work" && "$go" build -trimpath -ldflags "$ldflags" -o "$BIN/pulumi.tmp.$$" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2 || {
    rm -f "$BIN/pulumi.tmp.$$"
    die "go build of github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$VERSION failed (see above)"
  }
  mv -f "$BIN/pulumi.tmp.$$" "$BIN/pulumi"
  [ "$work" = "$src" ] || rm -rf "$work"
  log "built $BIN/pulumi in $((SECONDS - started))s"
}

# The engine of this clone: .tools/engine/bin holds a hard link to the cached `pulumi` (the engine runs the
# "bundled" plugins found next to its own executable, links resolved) and this clone's two shims, which run
# this clone's hosts. Kept per clone, so that clones of other versions sharing the cache never swap the
# hosts under each other's feet.
install_engine_dir() {
  local dir="$1" src
  for src in "$HOST_SRC" "$PROVIDER_HOST_SRC"; do [ -f "$src" ] || die "missing $src"; done
  mkdir -p "$dir"
  if [ ! "$dir/pulumi" -ef "$BIN/pulumi" ] && ! cmp -s "$BIN/pulumi" "$dir/pulumi"; then
    ln -f "$BIN/pulumi" "$dir/pulumi.tmp.$$" 2>/dev/null || cp "$BIN/pulumi" "$dir/pulumi.tmp.$$"
    mv -f "$dir/pulumi.tmp.$$" "$dir/pulumi"
  fi
  local pick='py="${KMS_PYTHON:-}"
if [ -z "$py" ] && [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then py="$VIRTUAL_ENV/bin/python"; fi'
  put_file "$dir/pulumi-resource-pulumi-python" "#!/usr/bin/env bash
# Pulumi dynamic-provider host (written by kms-keys-as-code scripts/setup-engine.sh): pulumi.dynamic's host
# that also answers the engine's import (kms_provider_host). The interpreter is chosen at run time.
$pick
exec \"\${py:-python3}\" -u \"\${KMS_PROVIDER_HOST:-$(printf %q "$PROVIDER_HOST_SRC")}\" \"\$@\""
  put_file "$dir/pulumi-language-python" "#!/usr/bin/env bash
# Pulumi Python language host (written by kms-keys-as-code scripts/setup-engine.sh). The interpreter is
# chosen at run time.
$pick
exec \"\${py:-python3}\" -u \"\${KMS_LANGUAGE_HOST:-$(printf %q "$HOST_SRC")}\" \"\$@\""
}

CLONE_ENGINE="$ROOT/.tools/engine/bin"

# 1. A pulumi of the pinned version already on PATH (not ours: no clone's engine, not the cached build) wins:
#    a real install ships its own hosts.
ENGINE_DIR=""
if found="$(command -v pulumi 2>/dev/null)"; then
  found_dir="$(cd "$(dirname "$(readlink -f "$found")")" && pwd)"
  if [ ! "$found" -ef "$BIN/pulumi" ] && [ ! -f "$found_dir/kms_language_host.py" ] \
    && ! grep -qs kms_provider_host "$found_dir/pulumi-resource-pulumi-python" \
    && [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$found" version 2>/dev/null || true)" = "v$VERSION" ]; then
    ENGINE_DIR="$found_dir"
  fi
fi

# 2. Otherwise our own build in the shared cache, run from this clone's engine directory.
if [ -z "$ENGINE_DIR" ]; then
  ENGINE_DIR="$CLONE_ENGINE"
  if [ ! -x "$BIN/pulumi" ]; then
    mkdir -p "$BIN"
    exec 9>"$CACHE/.build.lock"
    command -v flock >/dev/null && flock 9
    [ -x "$BIN/pulumi" ] || build_cli   # another clone may have built it while we waited
  fi
  install_engine_dir "$CLONE_ENGINE"
fi

# 3. .tools/pulumi -> the engine's directory (cheap: only touched when it points elsewhere).
if [ "$(readlink "$ROOT/.tools/pulumi" 2>/dev/null || true)" != "$ENGINE_DIR" ]; then
  mkdir -p "$ROOT/.tools"
  ln -sfn "$ENGINE_DIR" "$ROOT/.tools/pulumi"
fi

if [ "$PRINT_ENV" = 1 ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then
    KMS_PY="$ROOT/.venv/bin/python"
    VENV_PATH="$ROOT/.venv/bin:"
  else
    KMS_PY="${KMS_PYTHON:-$(command -v python3 || echo python3)}"
    VENV_PATH=""
  fi
  q() { printf '%q' "$1"; }
  # Drop earlier copies of the two entries so that repeated evals do not grow PATH.
  rest=":$PATH:"
  for d in "$ENGINE_DIR" "$ROOT/.venv/bin"; do
    while [[ "$rest" == *":$d:"* ]]; do rest="${rest/:$d:/:}"; done
  done
  rest="${rest#:}"
  rest="${rest%:}"
  echo "export PATH=$(q "$ENGINE_DIR:$VENV_PATH$rest")"
  echo "export KMS_PYTHON=$(q "$KMS_PY")"
  echo "export KMS_PULUMI_VERSION=$(q "$VERSION")"
  if [ "$ENGINE_DIR" = "$CLONE_ENGINE" ]; then
    echo "export KMS_LANGUAGE_HOST=$(q "$HOST_SRC")"
    echo "export KMS_PROVIDER_HOST=$(q "$PROVIDER_HOST_SRC")"
  fi
  echo "export PULUMI_SKIP_UPDATE_CHECK=true"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  echo "export PULUMI_HOME=$(q "${PULUMI_HOME:-$CACHE/home}")"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "export PULUMI_CONFIG_PASSPHRASE=kms-keys-as-code-local"
  fi
fi
