# make demo: install what is missing, build, run the demo.
# make test: install what is missing, build, run every test.
SHELL := /bin/bash
NODEDIR := $(if $(wildcard /usr/include/node/node_api.h),--nodedir=/usr,)
ADDON := packages/torch/build/Release/tsyolo_torch.node
NATIVE_SRC := $(wildcard packages/torch/native/*.cc packages/torch/native/*.h) packages/torch/binding.gyp packages/torch/scripts/libtorch.mjs
TESTS = $(wildcard packages/*/dist/test/*.test.js)
# The full yolov5n fixture set (the 15 MB training checkpoint, the loss batch's predictions) is too large
# for the repository; the tests that need it run when this folder has it and are skipped, naming the
# file, when it does not (fixtures/README.md).
export TSYOLO_FULL_FIXTURES ?= $(abspath $(wildcard ../shared/fixtures/yolov5n))

.PHONY: all deps test-deps build addon ts fixtures deps-check lint format test test-trixie test-trixie-cuda print-full-fixtures demo bench clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-test-deps.sh

node_modules/.package-lock.json: package.json package-lock.json packages/*/package.json bench/package.json
	npm ci --no-audit --no-fund
	@touch $@

$(ADDON): $(NATIVE_SRC) node_modules/.package-lock.json
	cd packages/torch && npx node-gyp rebuild -j 2 $(NODEDIR)

addon: deps $(ADDON)

ts: node_modules/.package-lock.json
	npx tsc -b

build: deps $(ADDON) ts

fixtures: build
	node fixtures/materialise.js

# folder layers and import cycles (.dependency-cruiser.cjs, ARCHITECTURE.md)
deps-check: node_modules/.package-lock.json
	npx depcruise packages/torch/src packages/yolo/src --config .dependency-cruiser.cjs

# formatting and lint rules (biome.json), plus the dependency check
lint: deps-check
	npx biome check

format: node_modules/.package-lock.json
	npx biome format --write

test: build test-deps fixtures deps-check
	node --test --test-concurrency=1 $(TESTS)

# Debian 13's libtorch 2.6 (CPU: the whole suite; CUDA: build, load, @tsyolo/torch's tests) in a chroot
# under .trixie/ (scripts/test-trixie.sh; root). Not part of `make test`: CI runs Debian 12 only.
test-trixie:
	scripts/test-trixie.sh cpu

test-trixie-cuda:
	scripts/test-trixie.sh cuda

print-full-fixtures:
	@echo $(TSYOLO_FULL_FIXTURES)

demo: build
	scripts/demo.sh

bench: build
	npm run bench -- $(or $(NAME),tensor)

clean:
	rm -rf packages/*/dist bench/dist packages/torch/build fixtures/.cache
