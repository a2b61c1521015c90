# Two commands: `make run` serves the demo on http://127.0.0.1:$(PORT); `make test` runs every test.
PORT ?= 5000
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := webapp:create_app

.PHONY: setup system-packages run test check bench chaos messages clean

# Debian packages the tests and drawings need: Chromium for browser tests, PostgreSQL for the
# production database, a CJK font so Chinese renders in screenshots, PDFs and stamped photos.
system-packages:
	@scripts/ensure-system-packages.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --no-compile -e '.[test]'  # modules compile when first imported
	touch $@

static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
	npx terser node_modules/jsqr/dist/jsQR.js --compress --mangle --comments false -o static/vendor/jsQR.min.js
	touch $@

translations/.compiled: $(VENV)/.installed $(wildcard translations/*/LC_MESSAGES/messages.po)
	$(VENV)/bin/pybabel compile --statistics -d translations 2>&1 | tail -n 1
	touch $@

.secret_key:
	$(PY) -c 'import secrets; print(secrets.token_hex(32))' > $@

setup: system-packages $(VENV)/.installed static/vendor/.installed translations/.compiled .secret_key

run: setup
	mkdir -p instance
	SECRET_KEY=$$(cat .secret_key) $(FLASK) db upgrade
	SECRET_KEY=$$(cat .secret_key) $(FLASK) push keys
	SECRET_KEY=$$(cat .secret_key) $(FLASK) demo load
	SECRET_KEY=$$(cat .secret_key) $(FLASK) demo history
	# The scheduled jobs' one worker (SQLite: its queue is in memory), stopped with the app.
	SECRET_KEY=$$(cat .secret_key) $(FLASK) jobs worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	SECRET_KEY=$$(cat .secret_key) $(VENV)/bin/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 \
		--access-logfile - 'webapp:create_app()'

# Lint and format check first (ruff), then every test with a throwaway PostgreSQL server and a
# throwaway S3 object store (SeaweedFS), started for the run and stopped afterwards; the tests in
# $(TEST_WORKERS) processes side by side (pytest-xdist, each taking the next test when it is done,
# longest first: tests/conftest.py::RUN_FIRST; the README's two tests on its fixed port take turns
# through a file lock, tests/readme_company.py).
# Each phase says how long it took, and pytest names the 30 slowest tests (docs/TESTING.md).
TEST_WORKERS ?= 2
test:
	@scripts/phase.sh setup $(MAKE) --no-print-directory setup
	@scripts/phase.sh lint sh -c '$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .'
	@scripts/phase.sh servers-and-tests scripts/with-postgres.sh scripts/with-s3.sh \
		scripts/phase.sh tests $(VENV)/bin/pytest -n $(TEST_WORKERS) --maxschedchunk 1 --durations=30 $(PYTEST_ARGS)

# The desk's short loop, for every edit: lint, the domain, page and API tests on SQLite with the
# local photo folder (no servers to start), and the browser tests changed since main.
# `make test` stays the whole proof, and CI runs it.
CHANGED_BROWSER_TESTS = $(shell git diff --name-only main -- 'tests/e2e/test_*.py' 2>/dev/null; git ls-files --others --exclude-standard 'tests/e2e/test_*.py')
check: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -q -k "not postgresql and not s3" \
		$(filter-out tests/test_chaos.py tests/test_readme.py,$(wildcard tests/test_*.py)) \
		$(sort $(CHANGED_BROWSER_TESTS)) $(PYTEST_ARGS)

# Every benchmark; rewrites docs/PERFORMANCE.md with the figures, the machine and the date.
bench: setup
	scripts/with-postgres.sh $(PY) -m bench.run

# The sync path under chaos at full size: 20 phones x 200 mutations against two app servers
# sharing PostgreSQL and S3 (tests/chaos.py); then the
# phones themselves in Chromium, 120 seeded steps on three seeds (tests/phone_chaos.py).
chaos: setup
	scripts/with-postgres.sh scripts/with-s3.sh $(PY) -m tests.chaos
	for seed in 1 2 3; do $(PY) -m tests.phone_chaos --steps 120 --seed $$seed || exit 1; done

# Regenerate the message catalogue after changing translatable text.
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) node_modules static/vendor translations/.compiled
