# The two commands a newcomer types are `make run` and `make test`; both build the virtual
# environment they need, so a fresh clone works with nothing installed but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench emulator clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/zohokit serve --sandbox --host 127.0.0.1 --port $${PORT:-8000}

emulator: $(STAMP)
	$(BIN)/zohokit emulator --host 127.0.0.1 --port $${PORT:-8765}

# The test suite drives a real PostgreSQL 15 and a real headless Chromium. Install them from
# Debian when missing and we may (root with apt); otherwise their tests say what to install.
system-deps:
	@missing=""; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not installed:$$missing (their tests will say so)"; fi; \
	fi

# Two workers, each given whole files (module fixtures such as the 5,000-tenant console are
# built once); PYTEST_WORKERS=0 runs the suite in this process.
PYTEST_WORKERS ?= 2

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src/zohokit src/zohokit_pytest

bench: $(STAMP)
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
