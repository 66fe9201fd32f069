# acs.upgrade: one command runs every test (`make test`), one runs the main job (`make demo`).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
BUILD := $(CURDIR)/build
COLLECTION_COPY := $(BUILD)/ansible_collections/acs/upgrade
OFFLINE_HELPER := $(firstword $(wildcard $(CURDIR)/../shared/tools/ansible-test-offline))
# Integration test files run this many at a time (pytest-xdist; each file's tests stay together, its fixtures shared):
# most of their time is spent waiting on simulated jobs and playbooks, not on the CPU.
TEST_WORKERS ?= 2
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)

.PHONY: test venv host lint sanity unit integration molecule build-check sim-package-check release-check core-matrix core-matrix-in-test demo bench clean

## Every test: lint, sanity, unit, integration (simulator, MariaDB, router containers, ansible-runner), molecule, build,
## and ansible-core 2.16 (core-matrix; 2.15 too with make core-matrix, which adds about 2 minutes).
test: venv host lint sanity unit integration molecule build-check sim-package-check release-check core-matrix-in-test

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	if [ -n "$(OFFLINE_HELPER)" ]; then bash $(OFFLINE_HELPER) $(BIN)/python; fi
	touch $@

## Debian packages and daemons the integration suites use (docker.io, debootstrap, mariadb-server; dockerd).
host:
	bash tests/host/prepare.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production

sanity: venv
	rm -rf $(BUILD)/ansible_collections
	mkdir -p $(COLLECTION_COPY)
	git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C $(COLLECTION_COPY) -xf -
	cd $(COLLECTION_COPY) && git init -q && git add -A && \
	  $(BIN)/ansible-test sanity --venv --python 3.11 --color no --requirements

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv host
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25 tests/simulator/tests tests/integration

molecule: venv host
	bash tests/router/build-image.sh
	for config in molecule/*/molecule.yml; do $(BIN)/molecule test -s $$(basename $$(dirname $$config)) || exit 1; done

## The collection builds (without the tests and the simulator package), installs offline, and ansible-doc renders every module and the inventory plugin from the installed copy.
build-check: venv
	rm -rf $(BUILD)/dist $(BUILD)/installed
	mkdir -p $(BUILD)/dist
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist .
	if tar -tzf $(BUILD)/dist/acs-upgrade-$(VERSION).tar.gz | grep -E '^(\./)?tests/|(^|/)acs_sim/|(^|/)pyproject\.toml$$'; then \
	  echo "the collection's tarball holds the simulator package or tests (above): galaxy.yml build_ignore must leave them out"; exit 1; fi
	$(BIN)/ansible-galaxy collection install --offline --force -p $(BUILD)/installed $(BUILD)/dist/acs-upgrade-$(VERSION).tar.gz
	for module in $$(ls plugins/modules/*.py | xargs -n1 basename | sed 's/\.py$$//'); do \
	  ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(BIN)/ansible-doc --json acs.upgrade.$$module \
	    | $(BIN)/python -c 'import json, sys; doc = json.load(sys.stdin); assert doc, "ansible-doc rendered nothing"; print("ansible-doc", *doc, "ok")' \
	    || { echo "ansible-doc cannot render acs.upgrade.$$module"; exit 1; }; done
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(BIN)/ansible-doc --json -t inventory acs.upgrade.cloudstack \
	  | $(BIN)/python -c 'import json, sys; doc = json.load(sys.stdin); assert doc, "ansible-doc rendered nothing"; print("ansible-doc", *doc, "ok")'

## acs-sim as a package of its own (tests/simulator/pyproject.toml, outside the collection's tarball): its wheel, installed
## into a fresh virtual environment, serves a bundled topology from there and answers signed listZones and listRouters
## calls (tests/simulator/smoke_installed.py, run outside the checkout in isolated mode so that nothing comes from it).
SIM_DIST := $(BUILD)/sim-dist
SIM_VENV := $(BUILD)/sim-venv
sim-package-check: venv
	rm -rf $(SIM_DIST) $(SIM_VENV)
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir $(SIM_DIST) ./tests/simulator
	$(PYTHON) -m venv $(SIM_VENV)
	$(SIM_VENV)/bin/pip install --quiet $(SIM_DIST)/acs_sim-*-py3-none-any.whl
	cd $(SIM_DIST) && $(SIM_VENV)/bin/python -I $(CURDIR)/tests/simulator/smoke_installed.py $(SIM_DIST)/acs_sim-*-py3-none-any.whl

## Galaxy and AWX take it: galaxy-importer on the tarball (offline), antsibull-changelog lint, ansible-builder create
## and introspection of the installed collection.
release-check: venv
	$(BIN)/pytest -q tests/release

## The older ansible-core releases of meta/runtime.yml's requires_ansible, beside the venv's 2.19: a virtual environment
## per release (build/core-X.Y, made once) with the unit tests, the inventory plugin, the AWX survey and credential
## checks and the main job (upgrade.yml on the sample cloud).
CORE_VERSIONS ?= 2.15 2.16
CORE_VERSIONS_IN_TEST ?= 2.16
CORE_MATRIX_PACKAGES := pytest==9.2.0 requests==2.34.2 PyMySQL==1.2.4 PyYAML==6.0.3 ansible-runner==2.4.3
core-matrix:
	for core in $(CORE_VERSIONS); do \
	  env=$(BUILD)/core-$$core; \
	  if [ ! -f $$env/.installed ]; then \
	    $(PYTHON) -m venv $$env && $$env/bin/pip install --quiet "ansible-core==$$core.*" $(CORE_MATRIX_PACKAGES) && touch $$env/.installed || exit 1; fi; \
	  echo "== ansible-core $$($$env/bin/python -c 'import ansible.release as r; print(r.__version__)')"; \
	  $$env/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/integration/inventory \
	    "tests/integration/awx/test_awx_definitions.py::test_credential_type_injects_the_connection_as_environment_and_the_database_as_extra_vars" \
	    "tests/integration/awx/test_awx_definitions.py::test_job_template_survey_is_awx_format_and_its_answers_pass_the_argument_specs" \
	    -k "not ten_thousand" || exit 1; \
	  rm -rf $$env/demo; \
	  VENV=$$env bash demo/run-demo.sh --output $$env/demo > $$env/demo.log 2>&1 || { tail -50 $$env/demo.log; exit 1; }; \
	  $$env/bin/python -c 'import json, sys; r = json.load(open(sys.argv[1])); t = r["totals"]; print("upgrade.yml on the sample cloud:", r["outcome"]["summary"]); \
	    sys.exit(r["outcome"]["status"] != "finished" or t["done"] == 0 or any(t[k] for k in ("failed", "not_run", "unknown", "refused")))' $$env/demo/report.json || exit 1; \
	done

core-matrix-in-test:
	$(MAKE) core-matrix CORE_VERSIONS="$(CORE_VERSIONS_IN_TEST)"

## The main job: an upgrade of a simulated three-zone cloud (add DOCKER=1 to run it on Debian router containers,
## VERSION=4.19.3.0 to play that management server release).
demo: venv
	$(if $(DOCKER),bash tests/host/prepare.sh,true)
	bash demo/run-demo.sh $(if $(DOCKER),--docker,) $(if $(VERSION),--version $(VERSION),)

## The upgrade benchmark of the README: this collection beside an ngine_io-style playbook and a sysvmadm-style loop.
BENCH_ROUTERS ?= 500 2000 10000
BENCH_TIME_FACTOR ?= 0.1
bench: venv
	mkdir -p $(BUILD)/bench
	for routers in $(BENCH_ROUTERS); do \
	  $(BIN)/python tests/benchmarks/bench_upgrade.py --routers $$routers --time-factor $(BENCH_TIME_FACTOR) --parallel 50 \
	    $$( [ $$routers -ge 2000 ] && echo --sysvmadm-sample 500 ) --json $(BUILD)/bench/upgrade-$$routers.json || exit 1; done
	$(BIN)/python tests/benchmarks/bench_preflight.py --routers 10000 --max-calls 60 --max-seconds 5
	$(BIN)/python tests/benchmarks/bench_snapshot.py --routers 10000 --max-calls 70
	$(BIN)/python tests/benchmarks/bench_rehearse.py --routers 10000 --time-factor 0.01

clean:
	rm -rf $(BUILD) tests/output .pytest_cache
