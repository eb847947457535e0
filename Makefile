# jmapgate - developer entry points. A newcomer runs `make demo` and `make test`.
#
#   make test         install deps, build, run every ctest tier (unit + integration)
#   make unit         unit tier only            make integration   integration tier only
#   make test-matrix  the JMAP, REST and push integration tests against Cyrus and
#                     the bare RFC 3501 profiles (label matrix; not in make test)
#   make sanitize     ASan+UBSan build in build-asan/, unit tier
#   make valgrind     every unit-test executable under valgrind (leaks are errors)
#   make demo         Dovecot with ~300 real mails + the gateway on 127.0.0.1:8080
#   make deps         scripts/install-deps        make build / make clean
#   make fuzz         every libFuzzer target for FUZZ_SECS (60) s each on its
#                     seed corpus, in build-fuzz/ with clang (not part of make test)
#
# `make test` also runs the ASan+UBSan unit tier (a second build in
# build-asan/): measured on 2 cores with the whole tree of 2026-11-22 it adds
# ~21 s from scratch (build + 25 unit tests), well under the 3-minute budget,
# and catches memory errors the plain tier cannot. Skip it with
# `make test ASAN=0` (re-measure if the build grows past ~2 minutes).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
ASAN       ?= 1
CTEST      := ctest --output-on-failure --parallel $(JOBS) $(CTEST_ARGS)
# Every tests/unit/**/*.supp is a valgrind suppression file (e.g. glibc's own
# over-reads when iconv dlopen()s gconv modules); tests/fuzz/*.supp are
# LeakSanitizer's, read by scripts/fuzz.
VG_SUPP    := $(foreach f,$(shell find tests/unit -name '*.supp' 2>/dev/null | sort),--suppressions=$(CURDIR)/$(f))

FUZZ_SECS  ?= 60

.PHONY: all build deps test test-matrix unit integration sanitize sanitize-integration valgrind demo clean bench fuzz

all: build

deps:
	scripts/install-deps

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

test: deps
	$(MAKE) --no-print-directory build
	$(CTEST) --test-dir $(BUILD) -LE matrix
ifeq ($(ASAN),1)
	$(MAKE) --no-print-directory sanitize
endif

unit: build
	$(CTEST) --test-dir $(BUILD) -L unit

integration: build
	$(CTEST) --test-dir $(BUILD) -L integration

test-matrix: build
	$(CTEST) --test-dir $(BUILD) -L matrix

sanitize:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJMAPGATE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(CTEST) --test-dir $(ASAN_BUILD) -L unit

# OPENSSL_ia32cap turns off OpenSSL's AES-NI/PCLMUL GCM assembly under
# valgrind only: on CPUs with VAES/AVX-512 it reports "conditional jump on
# uninitialised value" inside EVP_DecryptFinal_ex (a false positive: the
# same tests are clean with the C code path and under ASan).
# Runs each unit test executable (ctest -L unit -N lists them; the executable
# is named like the last part of the test name) under valgrind.
valgrind: build
	@set -e; tests=$$(ctest --test-dir $(BUILD) -L unit -N | sed -n 's/^ *Test *#[0-9]*: unit\.[^.]*\.//p'); \
	if [ -z "$$tests" ]; then echo "valgrind: no unit tests"; exit 0; fi; \
	fail=0; for t in $$tests; do \
	  exe=$$(find $(BUILD)/tests -type f -name "$$t" -perm -u+x | head -n 1); \
	  echo "valgrind: $$t"; \
	  ( cd $(BUILD)/tests && OPENSSL_ia32cap="~0x200000200000000" valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect $(VG_SUPP) "$$OLDPWD/$$exe" ) || { echo "valgrind: FAILED $$t"; fail=1; }; \
	done; exit $$fail

demo:
	scripts/demo

fuzz:
	FUZZ_SECS=$(FUZZ_SECS) JOBS=$(JOBS) scripts/fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Benchmarks (loopback, bounded): each prints one JSON object.
bench: build
	python3 bench/bench_push.py
	python3 bench/bench_push_modes.py
	python3 bench/bench_rest_changes.py
	python3 bench/bench_folder_list.py
	python3 bench/bench_round_trips.py
	python3 bench/bench_locate.py
	python3 bench/bench_streams.py

# The integration tier against the ASan+UBSan gateway (not part of `make
# test`: it doubles the integration time). Sanitizer reports go to
# build-asan/sanitizer.*; any report fails the target.
sanitize-integration: sanitize
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target jmapgate
	rm -f $(ASAN_BUILD)/sanitizer.*
	set -e; cd tests/integration; for t in test_*.py; do \
	  echo "== $$t"; \
	  JMAPGATE_BIN=$(CURDIR)/$(ASAN_BUILD)/jmapgate PYTHONPATH=../support \
	  ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/$(ASAN_BUILD)/sanitizer \
	  UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_BUILD)/sanitizer \
	  python3 -m unittest $${t%.py}; done
	@if ls $(ASAN_BUILD)/sanitizer.* >/dev/null 2>&1; then cat $(ASAN_BUILD)/sanitizer.*; exit 1; fi
