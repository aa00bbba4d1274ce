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

.PHONY: all build configure deps deps-demo check check-asan check-tsan fuzz \
	demo vm-demo bench bench-docs bench-images clean

all: build

# Everything any test needs (make check), or only what the build and the
# demo need (make demo); see scripts/install-deps.sh.
deps:
	@./scripts/install-deps.sh

deps-demo:
	@./scripts/install-deps.sh --demo

# $(call configure,DIR,CMAKE ARGUMENTS[,ENVIRONMENT]): configure DIR unless it is
# configured already. The stamp DIR/.configured is written only once cmake
# succeeded, so a configure that failed (a package missing) or was
# interrupted is simply run again next time; when it left a cache but no
# generated build system, that cache goes first (it may hold the failure).
# Any CMAKE ARGUMENTS are applied, so the configure runs again.
define configure
	@d='$(1)'; \
	if [ -n '$(strip $(2))' ] || [ ! -f "$$d/.configured" ] || \
	   [ ! -f "$$d/CMakeCache.txt" ] || \
	   { [ ! -f "$$d/Makefile" ] && [ ! -f "$$d/build.ninja" ]; }; then \
		rm -f "$$d/.configured"; \
		if [ -f "$$d/CMakeCache.txt" ] && [ ! -f "$$d/Makefile" ] && \
		   [ ! -f "$$d/build.ninja" ]; then \
			echo "make: $$d: an unfinished configure; starting afresh"; \
			rm -rf "$$d/CMakeCache.txt" "$$d/CMakeFiles"; \
		fi; \
		echo "$(strip $(3) cmake -S . -B $$d $(2))"; \
		$(3) cmake -S . -B "$$d" $(2) && touch "$$d/.configured"; \
	fi
endef

configure:
	$(call configure,$(BUILD),$(CMAKE_FLAGS))

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# deps first, then the build (sequential even under make -j).
# Configure again: what deps just installed (a cross compiler, scdoc, ...)
# changes what configure finds, and a tree configured by `make demo` had
# only the demo's packages.
check: deps
	@rm -f $(BUILD)/.configured
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The same suite built by clang with AddressSanitizer and UBSan (the VM
# guests run cross-built static binaries, so they are tested once, above).
check-asan: deps
	$(call configure,$(ASAN_BUILD),-DIVSHMEM_SANITIZE=ON $(CMAKE_FLAGS),CC=clang)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600 -LE vm

# The threaded tests (label tsan) built by clang with ThreadSanitizer, as
# .ci/run runs them.
check-tsan: deps
	$(call configure,$(TSAN_BUILD),-DIVSHMEM_TSAN=ON $(CMAKE_FLAGS),CC=clang)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && \
		TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		ctest -L tsan --output-on-failure -j $(JOBS) --timeout 600

# Every fuzz target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS
# each; findings land in $(FUZZ_BUILD)/fuzz/NAME/.
fuzz: deps
	$(call configure,$(FUZZ_BUILD),-DIVSHMEM_FUZZ=ON $(CMAKE_FLAGS),CC=clang)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The demo on a machine that has nothing yet: its packages, then the build.
demo: deps-demo
	@$(MAKE) --no-print-directory build
	./scripts/demo.sh $(BUILD)

# Two aarch64 Linux guests on our server (tests/vm builds them).
vm-demo: build
	./scripts/vm-demo.sh $(BUILD)

# The figures (table on stderr), then their report, BENCHMARKS.md and
# bench.png, in $(BENCH_REPORT) (the build tree), with the VM round trips
# unless BENCH_VM=0. build-guest.sh makes missing guest images and brings
# stale ones up to date (a few seconds when they are): the guests must run
# this tree's ipm-shell. `make bench-docs` puts that run's report into
# docs/ (running `make bench` first when there is none).
BENCH_REPORT = $(BUILD)/bench-report

bench: build $(if $(filter 1,$(BENCH_VM)),bench-images)
	$(BUILD)/bench/ipm-bench $(if $(filter 1,$(BENCH_VM)),--vm) --json \
		> $(BUILD)/bench.json.new
	mv $(BUILD)/bench.json.new $(BUILD)/bench.json
	python3 bench/mkreport.py $(BUILD)/bench.json $(BENCH_REPORT)

$(BUILD)/bench.json:
	@$(MAKE) --no-print-directory bench

bench-docs: $(BUILD)/bench.json
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
