# metering-gen: cdk.context.json -> terraform/ and the Lambda zips.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CONTEXT ?= examples/cdk.context.json
OUT     ?= terraform
BUILD   := build
VENV    := $(BUILD)/venv
# checkov ships its own HCL parser, which conflicts with other hcl2 packages: own venv.
CHECKOV_VENV := $(BUILD)/checkov
# `gen` and the offline commands need no AWS SDK: built without `verify`, a fresh clone's
# first `make gen` does not compile the SDK for the generator as well as for the Lambdas.
GEN     := cargo run --quiet --locked -p metering-gen --no-default-features --
VERIFY  := cargo run --quiet --locked -p metering-gen -- verify
# The development tool that writes a month of synthetic access logs (tools/simulate).
SIMULATE := cargo run --quiet --locked -p simulate --
# Terraform warns on every call when no CLI configuration file exists.
export TF_CLI_CONFIG_FILE ?= /dev/null

DEMO    := $(BUILD)/demo
DEMO_MONTH := 2026-10

.PHONY: gen verify test fmt check bench clean tools artifacts-check checkov fuzz demo

## gen: build the Lambda zips and write the Terraform tree
gen:
	$(GEN) gen --context $(CONTEXT) --out $(OUT)

## verify: after `terraform apply`, prove stage by stage that the stack meters and bills (VERIFY_ARGS: e.g. --stages stack,identity --json)
verify:
	$(VERIFY) --tree $(OUT) $(VERIFY_ARGS)

## test: every test: Rust unit, golden, bad-input and wire tests, fmt and drift checks, artifacts
test: tools
	METERING_PYTHON=$(CURDIR)/$(VENV)/bin/python cargo test --workspace --locked
	terraform fmt -check -recursive -diff terraform tests/golden
	$(GEN) gen --check --context $(CONTEXT) --out $(OUT)
	$(MAKE) checkov
	$(MAKE) artifacts-check
	$(MAKE) demo

## checkov: security scan of every generated tree: zero failed checks, skips only inline
checkov: $(CHECKOV_VENV)/.installed
	bash tests/checkov.sh $(CHECKOV_VENV)/bin/checkov

## artifacts-check: build both zips twice into scratch trees and check them
artifacts-check:
	bash tests/check-artifacts.sh

## fuzz: a long fuzz pass of the context parser and validator (make test runs 256 cases)
fuzz:
	PROPTEST_CASES=$${PROPTEST_CASES:-20000} cargo test --locked --release --no-default-features -p metering-gen --test fuzz_context -- --nocapture

## demo: simulate a month of API traffic and the backend's token events, bill both offline, compare the invoiced requests and tokens with the simulation's, print a tenant's invoice
demo:
	rm -rf $(DEMO)
	$(SIMULATE) --tenants 50 --requests 200000 --month $(DEMO_MONTH) --out $(DEMO)/logs --events-folder usage-events
	$(GEN) bill --logs $(DEMO)/logs/json-data --events $(DEMO)/logs/usage-events --month $(DEMO_MONTH) --context examples/metering.json --out $(DEMO)/invoices 2>&1 | tee $(DEMO)/bill.log
	@echo; python3 tests/demo_check.py $(DEMO)/logs/simulation.json $(DEMO)/bill.log $(DEMO)/invoices/year=$(subst -,/month=,$(DEMO_MONTH))
	@echo; echo "Invoice of tenant-0002 ($(DEMO)/invoices/year=$(subst -,/month=,$(DEMO_MONTH))/tenants/tenant-0002.json):"
	@python3 -m json.tool $(DEMO)/invoices/year=$(subst -,/month=,$(DEMO_MONTH))/tenants/tenant-0002.json

## fmt: format the Rust code (the generated tree is already terraform-fmt clean)
fmt:
	cargo fmt --all

## check: formatting and drift, without running the tests
check:
	cargo fmt --all -- --check
	terraform fmt -check -recursive -diff terraform tests/golden
	$(GEN) gen --check --context $(CONTEXT) --out $(OUT)

## bench: rendering time, gen --check, validate and a warm make gen as whole processes, zip sizes, Lambda cold starts and handler times, bill against DuckDB
bench: $(VENV)/.installed
	cargo bench --locked -p metering-gen --bench render
	cargo build --quiet --locked --release --no-default-features -p metering-gen -p simulate
	python3 tests/bench_cli.py target/release/metering-gen gen --check --context $(CONTEXT) --out $(OUT)
	python3 tests/bench_cli.py target/release/metering-gen validate --context $(CONTEXT)
	$(MAKE) --no-print-directory gen >/dev/null
	python3 tests/bench_cli.py $(MAKE) --no-print-directory gen
	$(GEN) gen --context $(CONTEXT) --out $(BUILD)/bench-tree >/dev/null
	$(VENV)/bin/python tests/bench_lambdas.py $(BUILD)/bench-tree $(CURDIR)/$(VENV)/bin/python examples/metering.json
	$(VENV)/bin/python tests/bench_bill.py target/release/metering-gen target/release/simulate examples/metering.json $(BUILD)/bench-bill 2000000 --daily --runs 3

## tools: the Python virtual environments (moto's server for the wire tests and DuckDB for the usage query's semantics, checkov)
tools: $(VENV)/.installed $(CHECKOV_VENV)/.installed

$(VENV)/.installed: tests/venv-requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/venv-requirements.txt
	touch $@

$(CHECKOV_VENV)/.installed: tests/checkov-requirements.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/checkov-requirements.txt
	touch $@

clean:
	cargo clean
	rm -rf $(BUILD) terraform/artifacts
