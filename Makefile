# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The Pulumi release the repository is tested with: the engine's own pin (tools/engine/go.mod). The package
# accepts any later 3.x (pyproject.toml); the development venv takes exactly this SDK to match the engine.
PULUMI_VERSION := $(shell sed -n 's|^require github.com/pulumi/pulumi/pkg/v3 v\([0-9.]*\)$$|\1|p' tools/engine/go.mod)
# Where the engine lives: a user cache keyed by version, shared by every clone (scripts/setup-engine.sh).
ENGINE_ENV = eval "$$(bash scripts/setup-engine.sh --print-env)"

# Root installs packages itself; anyone else through sudo.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: venv engine browser test lint typecheck pytest demo bench clean

# The `test` extra brings the `cli` and `server` extras (kmsctl, kmsctl serve) and the test tools.
$(STAMP): pyproject.toml tools/engine/go.mod
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]' 'pulumi==$(PULUMI_VERSION)'
	touch $@

venv: $(STAMP)

engine: venv
	bash scripts/setup-engine.sh

# The review page's test renders it in a real headless browser: Debian's chromium, installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

lint: venv
	$(VENV)/bin/ruff check provider tests benchmarks examples scripts

typecheck: venv
	$(VENV)/bin/mypy provider

pytest: venv engine browser
	$(ENGINE_ENV) && $(VENV)/bin/pytest -q -p no:cacheprovider

test: lint typecheck pytest

demo: venv engine
	$(ENGINE_ENV) && $(VPY) scripts/demo.py

bench: venv engine
	$(VPY) -m pip install -q -e '.[test,bench]' 'pulumi==$(PULUMI_VERSION)'
	# bare_app.py is not a benchmark: the server_vs_moto.py floor, started by it with a port.
	$(ENGINE_ENV) && for b in benchmarks/*.py; do [ "$$b" = benchmarks/bare_app.py ] && continue; \
		echo "== $$b"; $(VPY) $$b || exit 1; done
	# The provider's overhead grows with the stack: once more at 240 resources (80 keys, replicas, aliases).
	$(ENGINE_ENV) && echo "== benchmarks/provider_overhead.py --keys 80" && $(VPY) benchmarks/provider_overhead.py --keys 80

clean:
	rm -rf $(VENV) .kms-emulator .pulumi-state
