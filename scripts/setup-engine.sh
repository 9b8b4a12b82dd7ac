#!/usr/bin/env bash
# Makes sure the Pulumi engine matching the pinned Python SDK (`pulumi==X` in pyproject.toml) is available:
#
#   * a `pulumi` CLI of version X already on PATH is used as it is; otherwise
#   * `pulumi` is built from the Go module github.com/pulumi/pulumi/pkg/v3@vX (via tools/engine/go.mod) into
#     ${XDG_CACHE_HOME:-$HOME/.cache}/kms-keys-as-code/pulumi-vX/bin, shared by every clone, and next to it
#     go two shims that pick the interpreter at run time ($KMS_PYTHON, else $VIRTUAL_ENV/bin/python, else
#     python3): `pulumi-language-python` (tools/engine/kms_language_host.py: the upstream Go language host
#     is not served by the module proxy) and `pulumi-resource-pulumi-python` (`python -u -m pulumi.dynamic`).
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

install_shims() {
  [ -f "$HOST_SRC" ] || die "missing $HOST_SRC"
  local pick='py="${KMS_PYTHON:-}"
if [ -z "$py" ] && [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then py="$VIRTUAL_ENV/bin/python"; fi'
  put_file "$BIN/pulumi-resource-pulumi-python" "#!/usr/bin/env bash
# Pulumi dynamic-provider host (written by kms-keys-as-code scripts/setup-engine.sh). The interpreter is
# chosen at run time so that every clone sharing this cache uses its own virtualenv.
$pick
exec \"\${py:-python3}\" -u -m pulumi.dynamic \"\$@\""
  put_file "$BIN/pulumi-language-python" "#!/usr/bin/env bash
# Pulumi Python language host (written by kms-keys-as-code scripts/setup-engine.sh from
# tools/engine/kms_language_host.py). The interpreter is chosen at run time, per clone.
$pick
here=\"\$(cd \"\$(dirname \"\${BASH_SOURCE[0]}\")\" && pwd)\"
# A clone's own copy (exported by --print-env and by the test harness) wins over the cached one.
exec \"\${py:-python3}\" -u \"\${KMS_LANGUAGE_HOST:-\$here/kms_language_host.py}\" \"\$@\""
  if ! cmp -s "$HOST_SRC" "$BIN/kms_language_host.py"; then
    cp "$HOST_SRC" "$BIN/kms_language_host.py.tmp.$$"
    mv -f "$BIN/kms_language_host.py.tmp.$$" "$BIN/kms_language_host.py"
  fi
}

# 1. A pulumi of the pinned version already on PATH (not ours) wins: a real install ships its own hosts.
ENGINE_DIR=""
if found="$(command -v pulumi 2>/dev/null)"; then
  found_dir="$(cd "$(dirname "$(readlink -f "$found")")" && pwd)"
  if [ "$found_dir" != "$(cd "$BIN" 2>/dev/null && pwd || echo "$BIN")" ] \
    && [ "$(PULUMI_SKIP_UPDATE_CHECK=true "$found" version 2>/dev/null || true)" = "v$VERSION" ]; then
    ENGINE_DIR="$found_dir"
  fi
fi

# 2. Otherwise our own build in the shared cache.
if [ -z "$ENGINE_DIR" ]; then
  ENGINE_DIR="$BIN"
  if [ ! -x "$BIN/pulumi" ]; then
    mkdir -p "$BIN"
    exec 9>"$CACHE/.build.lock"
    command -v flock >/dev/null && flock 9
    [ -x "$BIN/pulumi" ] || build_cli   # another clone may have built it while we waited
  fi
  install_shims
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
  [ "$ENGINE_DIR" != "$BIN" ] || echo "export KMS_LANGUAGE_HOST=$(q "$HOST_SRC")"
  echo "export PULUMI_SKIP_UPDATE_CHECK=true"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  echo "export PULUMI_HOME=$(q "${PULUMI_HOME:-$CACHE/home}")"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "export PULUMI_CONFIG_PASSPHRASE=kms-keys-as-code-local"
  fi
fi
