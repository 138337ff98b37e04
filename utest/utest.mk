# SPDX-License-Identifier: GPL-2.0
# ka's allocator layers in userspace, as mm/ tests itself in tools/testing/:
# the same mod/ka/ sources (the layers, and the per-CPU caches and API on
# top: mcache.c api.c cache.c debug.c), unchanged, built against a shim
# (utest/shim/: emulated CPUs, per-CPU memory, RCU, ...) by clang.
#
#   make utest                   unit tests (ASan+UBSan, then valgrind), a
#                                short fuzz, the TSan stress and a quick
#                                memsim; ends with "N passed, N failed"
#   make fuzz [FUZZ_SECONDS=60]  the libFuzzer target, corpus utest/corpus
#   make utest-unit | utest-valgrind | utest-stress   one stage
#   make utest-build             build only
#
# Output in out/utest/: binaries, logs, the fuzzer's working corpus and any
# crash-* input it finds (replay: out/utest/fuzz out/utest/crash-...).

UT_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
UT_OUT := $(UT_TOP)/out/utest
UT_CC ?= clang
FUZZ_SECONDS ?= 60
UTEST_FUZZ_SECONDS ?= 30
# the TSan stress: tasks switch between calls only, then inside ka too
UTEST_STRESS ?= none 10 10000
UTEST_STRESS_FULL ?= full 6 10000

UT_LAYERS := $(addprefix $(UT_TOP)/mod/ka/,sizeclass.c span.c mcentral.c mheap.c \
	large.c arena.c mcache.c api.c hooks.c cache.c debug.c)
UT_HARNESS := $(addprefix $(UT_TOP)/utest/,shim/shim.c shim/shim_cpu.c harness.c check.c)
# The KUnit suites of the layers, shared with ka_kunit.ko, through the
# shim's <kunit/test.h> (utest/shim/kunit/test.h) and runner (utest/kunit.c).
UT_KUNIT := $(addprefix $(UT_TOP)/kunit/,sizeclass_test.c span_test.c \
	mheap_test.c) \
	$(UT_TOP)/utest/kunit.c
UT_DEPS := $(UT_LAYERS) $(UT_HARNESS) $(UT_KUNIT) $(wildcard $(UT_TOP)/utest/*.h \
	$(UT_TOP)/utest/shim/*.h $(UT_TOP)/utest/shim/linux/*.h \
	$(UT_TOP)/utest/shim/kunit/*.h $(UT_TOP)/kunit/ka_kunit.h \
	$(UT_TOP)/mod/ka/*.h $(UT_TOP)/include/*.h)
# The shim's ka_sys.h first, so that mod/ka/ka_sys.h (same guard) adds nothing.
UT_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-strict-aliasing \
	-D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Werror \
	-I$(UT_TOP)/utest/shim -I$(UT_TOP)/mod/ka -I$(UT_TOP)/include \
	-include $(UT_TOP)/utest/shim/ka_sys.h
UT_ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all
UT_BINS := $(addprefix $(UT_OUT)/,unit-asan unit stress-tsan fuzz memsim)
UT_RUN := UT_OUT=$(UT_OUT) UT_TOP=$(UT_TOP) $(UT_TOP)/utest/run

.PHONY: utest utest-build utest-unit utest-valgrind utest-stress fuzz

utest: utest-build
	@$(UT_RUN) unit valgrind fuzz:$(UTEST_FUZZ_SECONDS) stress:"$(UTEST_STRESS)" \
		stress:"$(UTEST_STRESS_FULL)" memsim

utest-build: $(UT_BINS)

utest-unit: $(UT_OUT)/unit-asan
	@$(UT_RUN) unit

utest-valgrind: $(UT_OUT)/unit
	@$(UT_RUN) valgrind

utest-stress: $(UT_OUT)/stress-tsan
	@$(UT_RUN) stress:"$(UTEST_STRESS)" stress:"$(UTEST_STRESS_FULL)"

fuzz: $(UT_OUT)/fuzz
	@$(UT_RUN) fuzz:$(FUZZ_SECONDS)

$(UT_OUT)/unit-asan: $(UT_TOP)/utest/unit.c $(UT_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(UT_CFLAGS) $(UT_ASAN) -o $@ $(UT_LAYERS) $(UT_HARNESS) $(UT_KUNIT) $<

# valgrind 3.19 reads no DWARF 5
$(UT_OUT)/unit: $(UT_TOP)/utest/unit.c $(UT_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(UT_CFLAGS) -gdwarf-4 -o $@ $(UT_LAYERS) $(UT_HARNESS) $(UT_KUNIT) $<

$(UT_OUT)/stress-tsan: $(UT_TOP)/utest/stress.c $(UT_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(UT_CFLAGS) -fsanitize=thread -o $@ $(UT_LAYERS) $(UT_HARNESS) $<

# Coverage guides the fuzzer through the code under test, not the checks.
$(UT_OUT)/fuzz: $(UT_TOP)/utest/fuzz.c $(UT_DEPS)
	@mkdir -p $(UT_OUT)/fuzz-obj
	@for f in $(UT_LAYERS) $<; do \
		echo "  CC [fuzz] $$f"; \
		$(UT_CC) $(UT_CFLAGS) $(UT_ASAN) -fsanitize=fuzzer-no-link -c $$f \
			-o $(UT_OUT)/fuzz-obj/$$(basename $$f .c).o || exit 1; \
	done
	@for f in $(UT_HARNESS); do \
		echo "  CC [asan] $$f"; \
		$(UT_CC) $(UT_CFLAGS) $(UT_ASAN) -c $$f \
			-o $(UT_OUT)/fuzz-obj/$$(basename $$f .c).o || exit 1; \
	done
	$(UT_CC) $(UT_CFLAGS) $(UT_ASAN) -fsanitize=fuzzer -o $@ $(UT_OUT)/fuzz-obj/*.o

# memsim: ka's per-CPU designs against SLUB in memory (utest/memsim.c);
# make memsim [MEMSIM_ARGS="-w mem8 -c 8"]; a quick run is part of make utest.
UT_MEMSIM := $(addprefix $(UT_TOP)/utest/,memsim.c memsim_ka.c memsim_slub.c)
MEMSIM_ARGS ?=

.PHONY: memsim utest-memsim
memsim: $(UT_OUT)/memsim
	$(UT_OUT)/memsim $(MEMSIM_ARGS)

utest-memsim: $(UT_OUT)/memsim
	@$(UT_RUN) memsim

$(UT_OUT)/memsim: $(UT_MEMSIM) $(UT_TOP)/utest/memsim.h $(UT_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(filter-out -O1,$(UT_CFLAGS)) -O2 -DSHIM_NODE_BLOCKS=256 \
		-o $@ $(UT_LAYERS) $(UT_HARNESS) $(UT_MEMSIM)

# A recorded allocation stream (scripts/trace-capture) through the layers:
# make utest-replay TRACES="out/trace/fs-6.1-2.kar ..." [REPLAY_ARGS=--csv=F]
UT_REPLAY_DEPS := $(UT_DEPS) $(UT_TOP)/mod/replay/kar_format.h
$(UT_OUT)/replay: $(UT_TOP)/utest/replay.c $(UT_REPLAY_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(UT_CFLAGS) -O2 -I$(UT_TOP)/mod/replay -o $@ $(UT_LAYERS) $(UT_HARNESS) $<

$(UT_OUT)/replay-asan: $(UT_TOP)/utest/replay.c $(UT_REPLAY_DEPS)
	@mkdir -p $(@D)
	$(UT_CC) $(UT_CFLAGS) $(UT_ASAN) -I$(UT_TOP)/mod/replay -o $@ $(UT_LAYERS) $(UT_HARNESS) $<

.PHONY: utest-replay
utest-replay: $(UT_OUT)/replay
	$(UT_OUT)/replay $(REPLAY_ARGS) $(TRACES)
