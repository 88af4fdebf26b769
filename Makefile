# trapline -- top-level make targets; the build itself is meson + ninja.
#   make          build build/trapline
#   make demo     install what is missing, build, run the demo
#   make test     install what is missing, build, run every test: plain,
#                 under AddressSanitizer + UndefinedBehaviorSanitizer, and
#                 under ThreadSanitizer
#   make test-plain, make test-asan, make test-tsan, make fuzz, make bench
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PYTHON     ?= /usr/bin/python3

.PHONY: all deps build demo test test-plain test-asan test-tsan fuzz bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized
	@ninja -C $(BUILD)

demo: build
	@scripts/demo

test: deps
	@$(PYTHON) scripts/run-tests plain asan tsan

test-plain: deps
	@$(PYTHON) scripts/run-tests plain

test-asan: deps
	@$(PYTHON) scripts/run-tests asan

test-tsan: deps
	@$(PYTHON) scripts/run-tests tsan

fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) \
		-Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false
	@ninja -C $(FUZZ_BUILD)
	@scripts/fuzz $(FUZZ_BUILD)

bench: build
	@bench/run-all

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-tsan $(FUZZ_BUILD)
