# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# make run COLLECTION=/srv/articles PORT=8080; FEEDS_* settings pass through the environment.
COLLECTION ?= seeds
PORT       ?= 8000

run: $(VENV)/.installed
	$(BIN)/feeds serve --collection "$(COLLECTION)" --host 127.0.0.1 --port "$(PORT)"

test: $(VENV)/.installed-test browser nginx varnish
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Chromium for tests/test_browser.py, from Debian. Installed only when missing, and only as root;
# otherwise the browser tests skip and say why.
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	else \
	  echo "make browser: /usr/bin/chromium is missing and installing it needs root" \
	    "(sudo apt-get install chromium); the browser tests will be skipped." >&2; \
	fi

# nginx for tests/test_proxy.py and tests/test_static_nginx.py, from Debian: nginx-light where the
# release has it, else nginx. Installed only when missing, and only as root; otherwise those tests
# skip and say why.
.PHONY: nginx
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && \
	  if LC_ALL=C apt-cache policy nginx-light | grep -q 'Candidate: [0-9]'; then \
	    package=nginx-light; else package=nginx; fi && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$package; \
	else \
	  echo "make nginx: nginx is missing and installing it needs root" \
	    "(sudo apt-get install nginx-light); the nginx tests will be skipped." >&2; \
	fi

# Varnish with its xkey module for tests/test_varnish.py and the cache bench, from Debian.
# Installed only when missing, and only as root; otherwise those tests skip and say why.
.PHONY: varnish
varnish:
	@if command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] && \
	    ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    varnish varnish-modules; \
	else \
	  echo "make varnish: varnish or its xkey module is missing and installing them needs" \
	    "root (sudo apt-get install varnish varnish-modules); the Varnish tests will be" \
	    "skipped." >&2; \
	fi

golden: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

# The reference programs the benchmarks measure feeds against, from Debian: wrk (HTTP load)
# and Hugo (a static site generator); nginx and Varnish come from their own targets.
# Installed only when missing, and only as root; a benchmark whose program is missing stops
# and names this target.
.PHONY: bench-tools
bench-tools: nginx varnish
	@missing=""; \
	for tool in wrk hugo; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
	  echo "make bench-tools:$$missing missing and installing needs root" \
	    "(sudo apt-get install$$missing)." >&2; \
	fi

bench: $(VENV)/.installed-test bench-tools
	$(BIN)/python bench/topics.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/index.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/restart.py
	$(BIN)/python bench/bulk.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
