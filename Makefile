# Concord — the two commands that matter: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
GATEWAY_ADDRESS ?= 127.0.0.1:8080
export GATEWAY_ADDRESS

GOVUK_FRONTEND := 5.9.0
ASSETS := gateway/static

.PHONY: install run stop status test test-unit bench clean

install: $(VENV)/.installed $(ASSETS)/.govuk-frontend-$(GOVUK_FRONTEND)-r2

# GOV.UK Frontend's compiled CSS, JS, fonts and images, from the npm registry (pinned).
# Without npm the pages still work, unstyled. Fonts and images go where the CSS asks for them
# (/assets/fonts/…, /assets/images/…).
$(ASSETS)/.govuk-frontend-$(GOVUK_FRONTEND)-r2:
	@if command -v npm >/dev/null; then \
	  rm -rf var/govuk && mkdir -p var/govuk && \
	  (cd var/govuk && npm pack --silent govuk-frontend@$(GOVUK_FRONTEND) >/dev/null && \
	   tar xzf govuk-frontend-$(GOVUK_FRONTEND).tgz) && \
	  cp var/govuk/package/dist/govuk/govuk-frontend.min.css var/govuk/package/dist/govuk/govuk-frontend.min.js $(ASSETS)/ && \
	  rm -rf $(ASSETS)/assets $(ASSETS)/fonts $(ASSETS)/images && \
	  cp -r var/govuk/package/dist/govuk/assets/fonts var/govuk/package/dist/govuk/assets/images \
	     var/govuk/package/dist/govuk/assets/manifest.json $(ASSETS)/ && \
	  rm -rf var/govuk && touch $@; \
	else echo "warning: npm not found; pages will be unstyled (GOV.UK Frontend not installed)"; fi

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
	@echo "  sign in: http://$(GATEWAY_ADDRESS)/sign-in   as pc.khan / concord-demo-password (more users above),"
	@echo "           then search profiles (try: Avery, Okafor, Elsie Marsh) at http://$(GATEWAY_ADDRESS)/profiles"
	@echo "  API:     http://$(GATEWAY_ADDRESS)/api/v1/profiles   reference: http://$(GATEWAY_ADDRESS)/api/docs"
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
