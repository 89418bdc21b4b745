# Concord — the two commands that matter: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
GATEWAY_ADDRESS ?= 127.0.0.1:8080
export GATEWAY_ADDRESS
# make run's own vhost: `concord broker setup` gives each component a least-privilege user on it.
run: export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/concord
# make run's mail catcher (concord_common/mailcatcher.py): every e-mail Concord sends lands in var/mail/*.eml.
run: export MAIL_CATCHER ?= 127.0.0.1:1025
run: export SMTP_URL ?= smtp://$(MAIL_CATCHER)
# make run's webhooks may go to a receiver on this machine (http://localhost:…); never so in production.
run: export WEBHOOKS_ALLOW_PRIVATE ?= true
run: export WEBHOOKS_ALLOW_HTTP ?= true

GOVUK_FRONTEND := 5.9.0
SASS := 1.108.2
ASSETS := gateway/static

.PHONY: install run stop status test test-serial test-unit bench clean

install: $(VENV)/.installed $(ASSETS)/.concord-assets-$(GOVUK_FRONTEND)-$(SASS)

# Concord's stylesheet, built with dart-sass (the `sass` npm package, pinned) from GOV.UK Frontend's Sass
# (pinned, from the npm registry) in Concord's own brand: a system font stack, no GDS Transport, no crown
# (gateway/web/sass/concord.scss). GOV.UK Frontend's JS is copied as it is; its fonts and images are not
# (they are GOV.UK's). Without npm the pages still work, unstyled.
$(ASSETS)/.concord-assets-$(GOVUK_FRONTEND)-$(SASS): gateway/web/sass/concord.scss
	@if command -v npm >/dev/null; then \
	  rm -rf var/assets-build && mkdir -p var/assets-build && \
	  (cd var/assets-build && npm pack --silent govuk-frontend@$(GOVUK_FRONTEND) >/dev/null && \
	   tar xzf govuk-frontend-$(GOVUK_FRONTEND).tgz && \
	   npm install --silent --no-audit --no-fund --no-save --prefix . sass@$(SASS) >/dev/null) && \
	  var/assets-build/node_modules/.bin/sass --no-source-map --style=compressed --quiet-deps \
	    --silence-deprecation=import,global-builtin --load-path=var/assets-build/package/dist \
	    gateway/web/sass/concord.scss $(ASSETS)/concord.css && \
	  cp var/assets-build/package/dist/govuk/govuk-frontend.min.js $(ASSETS)/ && \
	  rm -rf $(ASSETS)/assets $(ASSETS)/fonts $(ASSETS)/images $(ASSETS)/manifest.json \
	     $(ASSETS)/govuk-frontend.min.css $(ASSETS)/.govuk-frontend-* $(ASSETS)/.concord-assets-* && \
	  rm -rf var/assets-build && touch $@; \
	else echo "warning: npm not found; pages will be unstyled (install Node.js and npm, then make install)"; fi

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

## run: install, migrate, start every service (replicas) and the gateway, load demo data
run: install
	$(BIN)/concord keys init
	$(BIN)/concord broker setup
	$(BIN)/concord migrate
	$(BIN)/concord up
	$(BIN)/concord wait-ready --url http://$(GATEWAY_ADDRESS)
	$(BIN)/concord seed --url http://$(GATEWAY_ADDRESS)
	@echo ""
	@echo "Concord is running: http://$(GATEWAY_ADDRESS)"
	@echo "  health:  http://$(GATEWAY_ADDRESS)/readyz"
	@echo "  sign in: http://$(GATEWAY_ADDRESS)/sign-in   as pc.khan / concord-demo-password (more users above),"
	@echo "           then search profiles (try: Avery, Okafor, Elsie Marsh) at http://$(GATEWAY_ADDRESS)/profiles"
	@echo "           and open the demo cases (Okafor and The Red Lion, the Avery family, Elsie Marsh) at http://$(GATEWAY_ADDRESS)/cases"
	@echo "           your actions at /actions, the ASB panel at /meetings, the MASH (as l.okoro) at /mash"
	@echo "  API:     http://$(GATEWAY_ADDRESS)/api/v1/profiles   reference: http://$(GATEWAY_ADDRESS)/api/docs"
	@echo "  e-mail:  every e-mail Concord sends (SMTP_URL=$(SMTP_URL)) is kept in var/mail/*.eml (open with any mail program);"
	@echo "           set yours at http://$(GATEWAY_ADDRESS)/notifications/preferences"
	@echo "  processes: $(BIN)/concord status    logs: var/log/    stop: make stop"

stop:
	-$(BIN)/concord down

status:
	$(BIN)/concord status

## test: the whole suite (unit, logic, integration, end-to-end) against real RabbitMQ and PostgreSQL,
## in TEST_WORKERS processes (pytest-xdist; each has its own vhost and databases). A module's tests stay in
## one process (--dist loadfile), so a module-scoped whole system starts once. test-serial: one process.
TEST_WORKERS ?= 3
test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-serial: install
	$(BIN)/pytest -q -p no:xdist

test-unit: install
	$(BIN)/pytest -q tests/unit

bench: install
	$(BIN)/python bench/run.py

clean: stop
	rm -rf var

## capacity: the capacity test (issue 18; docs/capacity.md): locust, in a virtualenv of its own (gevent, never beside
## the services' eventlet), steps a mixed practitioner page rate against 1 and 2 replicas of every component at 1M
## profiles. Seeds once (~10-20 min), then ~15 min a run. CAPACITY_ARGS: e.g. --steps 25,50,100 --replicas 1
CAPACITY_VENV := .venv-capacity
.PHONY: capacity
$(CAPACITY_VENV)/.installed: bench/capacity/requirements.txt
	test -x $(CAPACITY_VENV)/bin/python || $(PYTHON) -m venv $(CAPACITY_VENV)
	$(CAPACITY_VENV)/bin/pip install -q --disable-pip-version-check -r bench/capacity/requirements.txt
	touch $@

capacity: install $(CAPACITY_VENV)/.installed
	$(BIN)/python bench/capacity_bench.py $(CAPACITY_ARGS)
