# A thin front end over meson.  `make check` is what CI runs.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# make fuzz: each target for FUZZ_SECONDS, or until FUZZ_RUNS inputs (0: no limit).
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 0
FUZZ_TARGETS ?=
MESON_OPTS ?=
# make soak: SOAK_GUESTS real guests for SOAK_MINUTES under the ASan vmrd-host.
SOAK_GUESTS ?= 4
SOAK_MINUTES ?= 30

.PHONY: all deps build check check-unit check-asan demo bench bench-scale bench-mechanisms bench-mechanisms-report fuzz soak clean install deb guest-image

all: build

# Missing Debian packages, one line per group; apt's output goes to the log.
deps:
	@DEPS_LOG=$(BUILD)/deps.log ./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -De2e=false $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Every test, then all but the end-to-end VM tests and the package test
# again under ASan/UBSan; the last line counts both runs.
check: deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(ASAN_BUILD)
	-meson test -C $(BUILD) --print-errorlogs --num-processes 2
	-ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --no-suite e2e --no-suite pkg
	@./scripts/test-summary.py $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json

check-unit: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite unit --suite fuzz --suite golden

# Every parser's libFuzzer target in turn (clang, ASan/UBSan), at nice 19;
# the summary goes to bench/sections/fuzz.md, new coverage to tests/*/corpus.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -De2e=false $(MESON_OPTS)

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) $$(sed 's/ .*//; s/^/libfuzzer-/' $(FUZZ_BUILD)/fuzz-targets.txt)
	./scripts/fuzz.py $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS) --runs $(FUZZ_RUNS) \
	  --targets '$(FUZZ_TARGETS)' \
	  --command 'make fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS)$(if $(FUZZ_TARGETS), FUZZ_TARGETS=$(FUZZ_TARGETS))'

# Real guests with random bursts and faults under the ASan/UBSan vmrd-host,
# invariants checked all along (scripts/soak.py); writes bench/sections/soak.md.
soak: build guest-image $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) src/host/vmrd-host
	./scripts/soak.py --build-root $(BUILD) --broker $(ASAN_BUILD)/src/host/vmrd-host \
	  --guests $(SOAK_GUESTS) --minutes $(SOAK_MINUTES) \
	  --command 'make soak SOAK_GUESTS=$(SOAK_GUESTS) SOAK_MINUTES=$(SOAK_MINUTES)'

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./scripts/bench.sh $(BUILD)

# The host side at 10 to 10,000 VMs (arbiter rounds, grant latency with many
# fake guests on a real vmrd-host, a simulated day): bench/sections/scale.md.
# scale.py runs its CPU-bound parts at nice 19 itself.
bench-scale: build
	./scripts/bench/scale.py --build $(BUILD)

# QEMU RSS given back per MiB for each give-back mechanism, in TCG guests
# one at a time (about 10 minutes); writes bench/sections/mechanisms.md.
bench-mechanisms: build guest-image
	./scripts/bench/mechanisms.py --build-root $(BUILD)

# The same section, the page model beside it and the plot, from the
# measured mechanisms.json: no guest is booted.
bench-mechanisms-report: build
	./scripts/bench/mechanisms.py --build-root $(BUILD) --from-json

# Kernel, modules, busybox, workloads and static vmrd for the QEMU e2e guests.
guest-image: deps
	./scripts/guest/build-image.sh -o $(BUILD)/guest --vmrd

# Under the build's prefix, /usr/local unless MESON_OPTS says otherwise.
install: build
	meson install -C $(BUILD)

# Debian packages of the working tree, lintian-clean, into $(BUILD)/deb.
deb: deps
	./scripts/deb.sh $(BUILD)/deb

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
