# Two commands do all the set-up: `make demo` and `make test` create the virtualenv when it is missing.
# `demo` installs only what the sandbox needs (requirements-demo.txt); `test` adds the test tools.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: demo test chaos lint bench package templates clean

# --no-compile: pip would byte-compile every installed module (about 9 of a first demo's 37 s);
# Python compiles the ones the demo imports as it imports them (about 2 s, the first run only).
$(DEMO_STAMP): requirements.txt requirements-demo.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --no-compile -r requirements-demo.txt
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $(STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m sandbox demo --out out

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -rs

chaos: $(STAMP)
	$(PY) -m sandbox.chaos

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m sandbox.bench

# After editing chalicelib/notify/templates/: compile them again (a test fails until then).
templates: $(DEMO_STAMP)
	$(PY) -m chalicelib.notify.precompiled

package: $(DEMO_STAMP)
	$(PY) -m infra.terraform --stage $(STAGE) --out build/terraform

clean:
	rm -rf $(VENV) out build .pytest_cache .ruff_cache .hypothesis
