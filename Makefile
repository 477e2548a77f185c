# Two commands on a fresh machine: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2
SOURCES := app stripe_emulator local_stack tests bench migrations sim load

.PHONY: install browser run test lint typecheck pytest openapi fuzz bench sim load clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

# The browser tests (tests/ui/) drive Debian's Chromium, installed here when it is missing (CI
# runs as root on Debian). Nothing else downloads a browser.
CHROMIUM := /usr/bin/chromium
# Quiet unless it fails; then apt's own output says why.
$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests"
	@log=$$(mktemp); export DEBIAN_FRONTEND=noninteractive; \
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >"$$log" 2>&1 \
		|| { cat "$$log"; rm -f "$$log"; exit 1; }; rm -f "$$log"

browser: $(CHROMIUM)

run: install
	$(PY) -m local_stack

test: install browser lint typecheck pytest

lint: install
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy --strict app stripe_emulator local_stack bench migrations sim load

# pytest exits 5 when it collects nothing; make treats that as the failure it is.
pytest: install browser
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q

openapi: install
	$(PY) -m app openapi --output openapi.json

# The schemathesis run of `make test`, longer: FUZZ_EXAMPLES per operation, seeded by FUZZ_SEED.
FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?= 20260901
fuzz: install
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) SCHEMATHESIS_SEED=$(FUZZ_SEED) \
		$(PY) -m pytest tests/test_schemathesis.py -q -p no:cacheprovider --timeout 3600

bench: install
	$(PY) -m bench

# The seeded simulation, long: SIM_OPS operations for each of SIM_SEEDS (`make sim SEED=42` replays
# one seed; `SIM_OPS=` its failing prefix, as a failing run prints).
SIM_OPS ?= 10000
SIM_SEEDS ?= 1 2
SEED ?=
sim: install
	$(PY) -m sim --ops $(SIM_OPS) $(addprefix --seed ,$(or $(SEED),$(SIM_SEEDS)))

# Load against the service under uvicorn (2 worker processes) for LOAD_SECONDS with LOAD_USERS
# buyers, then every invariant; `make test` runs a short one (tests/load/).
LOAD_SECONDS ?= 60
LOAD_USERS ?= 16
load: install
	LOAD_SECONDS=$(LOAD_SECONDS) LOAD_USERS=$(LOAD_USERS) $(PY) -m load

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
