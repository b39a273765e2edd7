# samsa developer entry points. Every target installs what it needs first
# (through tools/bootstrap.sh), so a fresh Debian machine only needs make.
#
#   make test            build and run every test suite, then print a summary
#   make test SUITE=unit run only the named suite(s) (space-separated)
#   make test-asan       unit, sim and property suites under ASan + UBSan
#                        (timeouts x4: the sanitizers slow the sweeps ~5-10x)
#   make lint            lint suite only (core purity, clang-format, sizes)
#   make format          clang-format every C++ file in place
#   make run             one broker on 127.0.0.1:9092, data under ./data
#   make sim             one simulator run with a determinism check
#   make sim-sweep       many simulator seeds
#   make bench           release build + benchmarks
#   make clean           remove the build directories

BUILD ?= build
BUILD_RELEASE ?= build-release
BUILD_ASAN ?= build-asan
SEED ?= 1
SCENARIO ?= kernel
NODES ?= 5
DURATION ?= 60s
SEEDS ?= 2000
SUITE ?=

comma := ,

PYTHON := /usr/bin/python3
SUMMARY := $(PYTHON) tools/test-summary.py
SAMSA = $(BUILD)/runtime/samsa

MESON_TEST_FLAGS := --no-rebuild --print-errorlogs
ASAN_SETUP := -Db_sanitize=address$(comma)undefined -Db_lundef=false -Dbench=false
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: bootstrap build run test test-asan bench sim sim-sweep lint format clean

# $(call meson_setup,DIR,OPTIONS): configure DIR unless it already has a
# build.ninja (meson setup also recovers a DIR whose earlier setup failed).
define meson_setup
	@if [ ! -f "$(1)/build.ninja" ]; then \
	    echo "==> meson setup $(1) $(2)"; \
	    meson setup "$(1)" $(2); \
	fi
endef

# $(call meson_test,DIR,ENV,FLAGS): run meson test without stopping make on
# failure, then let tools/test-summary.py decide (its last line is the
# "N passed, N failed" summary and its exit status is the target's).
define meson_test
	@rm -f "$(1)/meson-logs/testlog.json"
	@echo "==> meson test -C $(1) $(3)"
	@status=0; \
	$(2) meson test -C "$(1)" $(MESON_TEST_FLAGS) $(3) || status=$$?; \
	echo "==> meson test exited with status $$status; summary:"; \
	$(SUMMARY) "$(1)"
endef

bootstrap:
	@bash tools/bootstrap.sh

build: bootstrap
	$(call meson_setup,$(BUILD),)
	@echo "==> meson compile -C $(BUILD)"
	@meson compile -C "$(BUILD)"

# One broker on loopback with its data under ./data (a three-broker cluster
# comes with replication). It prints how to connect; Ctrl-C stops it.
run: build
	$(SAMSA) broker --node-id 1 --listen 127.0.0.1:9092 --data-dir ./data

test: build
	$(call meson_test,$(BUILD),,--num-processes 2 $(foreach s,$(SUITE),--suite $(s)))

test-asan: bootstrap
	$(call meson_setup,$(BUILD_ASAN),$(ASAN_SETUP))
	@echo "==> meson compile -C $(BUILD_ASAN)"
	@meson compile -C "$(BUILD_ASAN)"
	$(call meson_test,$(BUILD_ASAN),$(ASAN_ENV),--suite unit --suite sim --suite property --timeout-multiplier 4)

bench: bootstrap
	$(call meson_setup,$(BUILD_RELEASE),--buildtype=release -Db_ndebug=false)
	@echo "==> meson compile -C $(BUILD_RELEASE)"
	@meson compile -C "$(BUILD_RELEASE)"
	bash bench/run.sh "$(BUILD_RELEASE)"

sim: build
	$(SAMSA) sim --scenario $(SCENARIO) --seed $(SEED) --nodes $(NODES) \
	    --duration $(DURATION) --check-determinism

sim-sweep: build
	$(SAMSA) sim-sweep --scenario $(SCENARIO) --seeds $(SEEDS)

lint: build
	meson test -C "$(BUILD)" $(MESON_TEST_FLAGS) --suite lint

format:
	@bash tools/format.sh

clean:
	rm -rf "$(BUILD)" "$(BUILD_RELEASE)" "$(BUILD_ASAN)"
