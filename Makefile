# Two commands for a newcomer: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test browser lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded defaults: SQLite under instance/, in-process Redis stand-in, development settings; migrates, then
# serves the bot on $PORT (5000) and the WeChat sandbox with its chat simulator on $SANDBOX_PORT (5001).
run: $(STAMP)
	$(BIN)/python -m sandbox.dev

# The browser test drives Debian's Chromium and chromedriver: install them when we can, never download one.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium/chromedriver missing and no apt-get: the browser test will be skipped"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "chromium/chromedriver missing; as root: apt-get install chromium chromium-driver (browser test skipped)"; \
	else \
		echo "installing chromium and chromium-driver for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache .ruff_cache test-artifacts
