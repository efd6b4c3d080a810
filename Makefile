PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint install translations i18n-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $(TEST_STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d carecycle/translations

i18n-update: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k said --no-location --sort-output -o carecycle/translations/messages.pot .
	$(BIN)/pybabel update -i carecycle/translations/messages.pot -d carecycle/translations --no-fuzzy-matching

install: $(STAMP) translations

run: install
	$(BIN)/carecycle db upgrade
	$(BIN)/carecycle demo load
	$(BIN)/gunicorn --config python:carecycle.gunicorn_conf --bind 127.0.0.1:$(PORT) --workers 2 --access-logfile - wsgi:app

test: $(TEST_STAMP) translations
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
