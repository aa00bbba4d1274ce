# Thin wrapper around CMake + CTest. `make check` is what CI runs.
BUILD   ?= build
ASAN_BUILD ?= build-asan
JOBS    ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build deps check check-asan demo vm-demo bench clean

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

demo: build
	./scripts/demo.sh $(BUILD)

# Two aarch64 Linux guests on our server (tests/vm builds them).
vm-demo: build
	./scripts/vm-demo.sh $(BUILD)

# The figures (table on stderr) and docs/BENCHMARKS.md + docs/bench.png.
bench: build
	$(BUILD)/bench/ipm-bench --json > $(BUILD)/bench.json
	python3 bench/mkreport.py $(BUILD)/bench.json docs

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
