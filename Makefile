# Set-up is part of every target: a fresh machine needs only python3 (and root for apt-get).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: study test lint chromium clean-cache

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

study: $(STAMP)
	$(VENV)/bin/planner study

layers: $(STAMP)
	$(VENV)/bin/planner layers

test: $(STAMP) chromium
	$(PY) -m ruff check planner tests benchmarks
	$(PY) -m mypy planner
	cache=$$(mktemp -d); PLANNER_CACHE=$$cache $(PY) -m pytest -n 2 --durations=15 \
	  --doctest-modules planner tests --nbmake notebooks; rc=$$?; rm -rf $$cache; exit $$rc

clean-cache:  # planner's own entries only: the folder may hold other files
	dir=$${PLANNER_CACHE:-$$HOME/.cache/planner}; [ -d "$$dir" ] && find "$$dir" -maxdepth 1 \
	  \( -name '*.pkl' -o -name 'costsurface-*.npz' -o -name 'route-scores-*.csv' \) -delete || true
