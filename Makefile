# Concord — the two commands that matter: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
GATEWAY_ADDRESS ?= 127.0.0.1:8080
export GATEWAY_ADDRESS

.PHONY: install run stop status test test-unit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

## run: install, migrate, start every service (replicas) and the gateway, load demo data
run: install
	$(BIN)/concord migrate
	$(BIN)/concord up
	$(BIN)/concord wait-ready --url http://$(GATEWAY_ADDRESS)
	$(BIN)/concord seed --url http://$(GATEWAY_ADDRESS)
	@echo ""
	@echo "Concord is running: http://$(GATEWAY_ADDRESS)"
	@echo "  health:  http://$(GATEWAY_ADDRESS)/readyz"
	@echo "  API:     http://$(GATEWAY_ADDRESS)/api/v1/profiles"
	@echo "  demo sign-in: none yet (sign-in arrives with the directory; see README)"
	@echo "  processes: $(BIN)/concord status    logs: var/log/    stop: make stop"

stop:
	-$(BIN)/concord down

status:
	$(BIN)/concord status

## test: the whole suite (unit, integration, end-to-end) against real RabbitMQ and PostgreSQL
test: install
	$(BIN)/pytest -q

test-unit: install
	$(BIN)/pytest -q tests/unit

bench: install
	$(BIN)/python bench/run.py

clean: stop
	rm -rf var
