# Makefile -- thin wrapper over CMake. `make run` and `make test` work on a fresh
# Debian 12 machine as root: both install missing packages first (deps/debian.txt).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
LISTEN     ?= 127.0.0.1:3100
DATA_DIR   ?= ./data
PREFIX     ?= /usr/local

.PHONY: all deps build run test install deb asan fuzz-smoke bench soak clean

all: build

deps:
	@sh deps/install.sh

# Builds into one folder take its lock (flock, util-linux), so `make run` and `make
# test` started at once in two shells build one after the other instead of breaking
# each other's archives.
LOCKED = mkdir -p $(1) && flock $(1)/.build.lock sh -c

build: deps
	@$(call LOCKED,$(BUILD)) 'cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory'

run: build
	@echo "cairn: the binary is $(BUILD)/cairn; 'make install' puts cairn on PATH ($(PREFIX)/bin)"
	@sh deploy/local-run.sh $(BUILD) $(LISTEN) $(DATA_DIR)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# bin/cairn, man pages, bash and zsh completions, examples and docs under PREFIX;
# `make install DESTDIR=/tmp/stage` stages them for a package.
install: build
	@DESTDIR="$(abspath $(DESTDIR))" cmake --install $(BUILD) --prefix $(PREFIX)

# A Debian package of the built binary with systemd units: packaging/deb/build-deb.sh.
deb: build
	@sh packaging/deb/build-deb.sh $(BUILD)

asan: deps
	@$(call LOCKED,$(ASAN_BUILD)) 'cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCAIRN_SANITIZE=ON >/dev/null && cmake --build $(ASAN_BUILD) -j $(JOBS)'
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

fuzz-smoke: deps
	@$(call LOCKED,$(FUZZ_BUILD)) 'cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCAIRN_FUZZ=ON >/dev/null && cmake --build $(FUZZ_BUILD) -j $(JOBS)'
	@sh tests/fuzz/smoke.sh $(FUZZ_BUILD)

bench: build
	@sh bench/run.sh $(BUILD)

# The crash/fault suite (docs/SOAK.md): ~15 min, needs root (tmpfs mount); not in CI.
# `make soak SOAK_ARGS="--quick --seed 42"` for a ~2 min run.
soak: build
	@python3 tests/soak/soak.py $(BUILD) $(SOAK_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
