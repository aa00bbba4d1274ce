# Thin wrapper around CMake + CTest. `make check` is what CI runs.
BUILD   ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
# make fuzz: seconds per fuzz target.
FUZZ_SECONDS ?= 60
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=
# make bench: the VM figures too (0: without them), their guests' packages.
BENCH_VM ?= 1
IVSHMEM_VM_CACHE ?= /var/cache/ivshmem-ipm/vm
VM_ARCHES := x86_64 aarch64

.PHONY: all build deps check check-asan check-tsan fuzz demo vm-demo bench bench-images clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

check: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The same suite built by clang with AddressSanitizer and UBSan (the VM
# guests run cross-built static binaries, so they are tested once, above).
check-asan: deps
	CC=clang cmake -S . -B $(ASAN_BUILD) -DIVSHMEM_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600 -LE vm

# Every fuzz target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS
# each; findings land in $(FUZZ_BUILD)/fuzz/NAME/.
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DIVSHMEM_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	./scripts/demo.sh $(BUILD)

# Two aarch64 Linux guests on our server (tests/vm builds them).
vm-# Every fuzz target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS
# each; findings land in $(FUZZ_BUILD)/fuzz/NAME/.
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DIVSHMEM_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	./scripts/vm-demo.sh $(BUILD)

# The figures (table on stderr) and docs/BENCHMARKS.md + docs/bench.png,
# with the VM round trips unless BENCH_VM=0. build-guest.sh makes missing
# guest images and brings stale ones up to date (a few seconds when they
# are): the guests must run this tree's ipm-shell.
bench: build $(if $(filter 1,$(BENCH_VM)),bench-images)
	$(BUILD)/bench/ipm-bench $(if $(filter 1,$(BENCH_VM)),--vm) --json \
		> $(BUILD)/bench.json
	python3 bench/mkreport.py $(BUILD)/bench.json docs

bench-images:
	@for arch in $(VM_ARCHES); do \
		IVSHMEM_VM_CACHE=$(IVSHMEM_VM_CACHE) sh tests/vm/build-guest.sh \
			$$arch . $(BUILD)/vm/$$arch || { \
			echo "make bench: no $$arch guest image" \
			     "(BENCH_VM=0 leaves out the VM figures)" >&2; \
			exit 1; }; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
