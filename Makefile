# metering-gen: cdk.context.json -> terraform/ and the Lambda zips.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CONTEXT ?= examples/cdk.context.json
OUT     ?= terraform
BUILD   := build
VENV    := $(BUILD)/venv
MOTO_VERSION := 5.2.1
GEN     := cargo run --quiet --locked -p metering-gen --
# Terraform warns on every call when no CLI configuration file exists.
export TF_CLI_CONFIG_FILE ?= /dev/null

.PHONY: gen test fmt check bench clean tools artifacts-check

## gen: build the Lambda zips and write the Terraform tree
gen:
	$(GEN) gen --context $(CONTEXT) --out $(OUT)

## test: every test: Rust unit, golden, bad-input and wire tests, fmt and drift checks, artifacts
test: tools
	METERING_PYTHON=$(CURDIR)/$(VENV)/bin/python cargo test --workspace --locked
	terraform fmt -check -recursive -diff terraform tests/golden
	$(GEN) gen --check --context $(CONTEXT) --out $(OUT)
	$(MAKE) artifacts-check

## artifacts-check: build both zips twice into scratch trees and check them
artifacts-check:
	bash tests/check-artifacts.sh

## fmt: format the Rust code (the generated tree is already terraform-fmt clean)
fmt:
	cargo fmt --all

## check: formatting and drift, without running the tests
check:
	cargo fmt --all -- --check
	terraform fmt -check -recursive -diff terraform tests/golden
	$(GEN) gen --check --context $(CONTEXT) --out $(OUT)

## bench: rendering time and zip sizes
bench:
	cargo bench --locked -p metering-gen --bench render
	cargo build --quiet --locked --release -p metering-gen
	python3 tests/bench_cli.py target/release/metering-gen gen --check --context $(CONTEXT) --out $(OUT)
	$(GEN) gen --context $(CONTEXT) --out $(BUILD)/bench-tree >/dev/null
	@echo "Lambda zips:"; for z in $(BUILD)/bench-tree/artifacts/*.zip; do \
	  printf '  %-40s %8d bytes\n' "$$(basename $$z)" "$$(stat -c %s $$z)"; done

## tools: the Python virtual environment with moto's server for the wire tests
tools: $(VENV)/.installed

$(VENV)/.installed:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

clean:
	cargo clean
	rm -rf $(BUILD) terraform/artifacts
