# Two commands do all the set-up: `make demo` and `make test` create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test chaos lint bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
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

package: $(STAMP)
	$(PY) -m infra.terraform --stage dev --out build/terraform

clean:
	rm -rf $(VENV) out build .pytest_cache .ruff_cache .hypothesis
