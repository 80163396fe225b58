# Two commands do all the set-up: `make demo` and `make test` create the virtualenv when it is missing.
# `demo` installs only what the sandbox needs (requirements-demo.txt); `test` adds the test tools.
# The project runs on Python 3.13 (Lambda's python3.13 runtime; python3.11 functions can no longer be
# created). PYTHON: the first working 3.13 of `python3.13` on PATH, then pyenv's 3.13 builds.
PYTHON ?= $(shell for p in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
STAGE ?= dev

.PHONY: demo test chaos lint bench package templates clean

# --no-compile: pip would byte-compile every installed module (about 9 of a first demo's 37 s);
# Python compiles the ones the demo imports as it imports them (about 2 s, the first run only).
# A .venv of another Python (an older clone's 3.11) is made anew.
$(DEMO_STAMP): requirements.txt requirements-demo.txt
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { \
	  test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it, or run make PYTHON=/path/to/python3.13" >&2; exit 2; }; \
	  echo "creating $(VENV) with $(PYTHON)"; rm -f $(DEMO_STAMP) $(STAMP); $(PYTHON) -m venv --clear $(VENV); }
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

# Each stage's package in a directory of its own, its state key written into its backend block.
package: $(DEMO_STAMP)
	$(PY) -m infra.terraform --stage $(STAGE) --out build/terraform/$(STAGE)

clean:
	rm -rf $(VENV) out build .pytest_cache .ruff_cache .hypothesis
