#!/usr/bin/env bash
# Makes sure the Pulumi engine this repository is tested with (its own pin: the
# `github.com/pulumi/pulumi/pkg/v3 vX` require of tools/engine/go.mod) is available:
#
#   * a `pulumi` CLI of version X already on PATH is used as it is; otherwise
#   * `pulumi` is built from the Go module github.com/pulumi/pulumi/pkg/v3@vX (via tools/engine/go.mod) into
#     ${XDG_CACHE_HOME:-$HOME/.cache}/kms-keys-as-code/pulumi-vX/bin, shared by every clone, and hard-linked
#     into the clone's .tools/engine/bin next to two shims: `pulumi-language-python`
#     (tools/engine/kms_language_host.py: the upstream Go language host is not served by the module proxy) and
#     `pulumi-resource-pulumi-python` (tools/engine/kms_provider_host.py: `python -m pulumi.dynamic` that
#     also answers the engine's import).
#   * .tools/pulumi (git-ignored) links to the directory holding the engine.
#
# The shims serve any project, not only this repository: each picks its interpreter at run time, the
# project's own first (Pulumi.yaml `runtime.options.virtualenv`), so that a project runs the copy of
# kms-keys-as-code installed in its own virtualenv. See pick_python below for the whole order.
#
# Usage: bash scripts/setup-engine.sh              ensure the engine (progress on stderr)
#        bash scripts/setup-engine.sh --print-env  ensure it, then print, for eval, the few `export` lines
#                                                  the engine needs, each with a comment saying why
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

VERSION="$(sed -n 's|^require github.com/pulumi/pulumi/pkg/v3 v\([0-9][0-9.]*\)$|\1|p' "$ROOT/tools/engine/go.mod" | head -n1)"
[ -n "$VERSION" ] || die "no \"require github.com/pulumi/pulumi/pkg/v3 vX\" line in $ROOT/tools/engine/go.mod"
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
  local go src ldflags started
  go="$(command -v go || true)"
  [ -n "$go" ] || { [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go; } || true
  [ -n "$go" ] || die "pulumi v$VERSION is not on PATH and no Go toolchain was found to build it"
  src="$ROOT/tools/engine"
  export GOFLAGS=-mod=mod
  ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
  log "building pulumi v$VERSION from github.com/pulumi/pulumi/pkg/v3 (cold: many minutes on 2 cores)"
  started=$SECONDS
  mkdir -p "$BIN"
  (cd "$src" && "$go" build -trimpath -ldflags "$ldflags" -o "$BIN/pulumi.tmp.$$" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) >&2 || {
    rm -f "$BIN/pulumi.tmp.$$"
    die "go build of github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$VERSION failed (see above)"
  }
  mv -f "$BIN/pulumi.tmp.$$" "$BIN/pulumi"
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
  # The interpreter a host runs on, chosen at run time, first match wins:
  #  1. the project's virtualenv: Pulumi.yaml `runtime.options.virtualenv`, which the engine hands a
  #     provider plugin as $PULUMI_RUNTIME_VIRTUALENV (as the stock host reads it) and which the language
  #     host reads from the Pulumi.yaml of its working directory (the project's);
  #  2. $KMS_PYTHON (an explicit choice, e.g. a test run's interpreter for projects without a virtualenv);
  #  3. $VIRTUAL_ENV/bin/python (an activated venv);
  #  4. this clone's .venv/bin/python, when it exists: it has pulumi and grpc, so that `pulumi install`
  #     can run before the project's virtualenv exists;
  #  5. python3.
  # Candidates 1, 3 and 4 count only when they have the Pulumi SDK (a virtualenv not yet installed does not).
  local default_py=""
  if [ -x "$ROOT/.venv/bin/python" ]; then
    default_py="$ROOT/.venv/bin/python"
  else
    log "no $ROOT/.venv (make venv): before a project's virtualenv exists (pulumi install), the hosts fall back"
    log "to \$KMS_PYTHON, an active venv or python3, which must have the pulumi package"
  fi
  local pick
  pick='has_sdk() { [ -x "$1/bin/python" ] && compgen -G "$1/lib/python3*/site-packages/pulumi/__init__.py" >/dev/null; }
project_venv() {  # the virtualenv option of the Pulumi.yaml in the working directory or above
  local d="$PWD" f v
  while :; do
    for f in "$d/Pulumi.yaml" "$d/Pulumi.yml"; do
      if [ -f "$f" ]; then
        v="$(sed -n "s/^[[:space:]]*virtualenv:[[:space:]]*[\"'"'"']\{0,1\}\([^\"'"'"'#[:space:]]*\).*/\1/p" "$f" | head -n1)"
        [ -n "$v" ] || return 0
        case "$v" in /*) echo "$v" ;; *) echo "$d/$v" ;; esac
        return 0
      fi
    done
    [ "$d" = / ] && return 0
    d="$(dirname "$d")"
  done
}
py=""
venv="${PULUMI_RUNTIME_VIRTUALENV:-$(project_venv)}"
if [ -n "$venv" ]; then case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac; fi
if [ -n "$venv" ] && has_sdk "$venv"; then py="$venv/bin/python"
elif [ -n "${KMS_PYTHON:-}" ]; then py="$KMS_PYTHON"
elif [ -n "${VIRTUAL_ENV:-}" ] && has_sdk "$VIRTUAL_ENV"; then py="$VIRTUAL_ENV/bin/python"
else py='"$(printf %q "$default_py")"'
fi'
  put_file "$dir/pulumi-resource-pulumi-python" "#!/usr/bin/env bash
# Pulumi dynamic-provider host (written by kms-keys-as-code scripts/setup-engine.sh): pulumi.dynamic's host
# that also answers the engine's import (kms_provider_host). The interpreter is chosen at run time.
$pick
exec \"\${py:-python3}\" -u \"\${KMS_PROVIDER_HOST:-$(printf %q "$PROVIDER_HOST_SRC")}\" \"\$@\""
  put_file "$dir/pulumi-language-python" "#!/usr/bin/env bash
# Pulumi Python language host (written by kms-keys-as-code scripts/setup-engine.sh). The interpreter is
# chosen at run time; the program itself runs on its project's virtualenv (kms_language_host.py).
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
  q() { printf '%q' "$1"; }
  # Drop an earlier copy of the engine's directory so that repeated evals do not grow PATH.
  rest=":$PATH:"
  while [[ "$rest" == *":$ENGINE_DIR:"* ]]; do rest="${rest/:$ENGINE_DIR:/:}"; done
  rest="${rest#:}"
  rest="${rest%:}"
  echo "# kms-keys-as-code: the Pulumi engine v$VERSION (scripts/setup-engine.sh --print-env)."
  echo "# PATH: this engine's directory first, so that \`pulumi\` is v$VERSION and it starts the Python hosts"
  echo "# next to it. Nothing else on PATH changes: each project runs on its own virtualenv (Pulumi.yaml"
  echo "# runtime.options.virtualenv; \`pulumi install\` makes it)."
  echo "export PATH=$(q "$ENGINE_DIR${rest:+:$rest}")"
  echo "# PULUMI_SKIP_UPDATE_CHECK: this engine is a build of a pinned release; without it every command"
  echo "# asks pulumi.com for a newer one and suggests upgrading."
  echo "export PULUMI_SKIP_UPDATE_CHECK=true"
  echo "# Left as they are: PULUMI_HOME, the state backend (pulumi login), the secrets passphrase and plugin"
  echo "# downloads. The language host names no plugins, so none is downloaded for this package."
fi
