# SPDX-License-Identifier: GPL-2.0
# ka: user entry points.  The module build itself is described by the Kbuild
# files; this Makefile only drives kbuild and the scripts.
#
#   make [KDIR=...] [W=1]   build ka.ko and the client modules in place
#   make KA_KERNEL=rt-6.12  the same against a kernel of the test matrix
#   make run                boot the stock kernel, load ka and the demo
#   make check              the full test run (see kunit/testing.rst)

# The kernel tree to build against: KDIR if given; else the headers of
# KA_KERNEL, a kernel of the test matrix (stock-6.1, stock-6.12, rt-6.1,
# rt-6.12: scripts/ka-kernel --list); else the running kernel's build tree
# if it has one; else stock-6.1's headers (scripts/ka-kernel).
ifeq ($(origin KDIR),undefined)
ifneq ($(KA_KERNEL),)
KDIR := $(shell scripts/ka-kernel --kdir $(KA_KERNEL) 2>/dev/null)
KDIR_WHY := KA_KERNEL=$(KA_KERNEL)
else ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
KDIR := /lib/modules/$(shell uname -r)/build
KDIR_WHY := the running kernel, $(shell uname -r)
else
KDIR := $(shell scripts/ka-kernel --kdir stock-6.1 2>/dev/null)
KDIR_WHY := stock-6.1, the default
endif
else
KDIR_WHY := KDIR given
endif

.PHONY: all modules clean check run deps test-kernel dkms-check w1 help

all: modules

# A kernel of the matrix that is not there yet is fetched first (its headers
# and image unpacked into ~/.cache/ka: scripts/install-deps).
modules:
ifeq ($(wildcard $(KDIR)/Makefile)$(origin KDIR)$(KA_KERNEL_FETCHED),file)
ifneq ($(KA_KERNEL),)
	scripts/install-deps --for run $(KA_KERNEL)
	$(MAKE) KA_KERNEL_FETCHED=1 modules
else
	@echo "make: no kernel build tree at KDIR='$(KDIR)' ($(KDIR_WHY)): pass KDIR=, or KA_KERNEL=stock-6.1 (or another kernel of the matrix) to fetch its headers" >&2; exit 1
endif
else
	@test -f "$(KDIR)/Makefile" || { echo "make: no kernel build tree at KDIR='$(KDIR)' ($(KDIR_WHY))" >&2; exit 1; }
	@echo "make: building against $(KDIR) ($(KDIR_WHY))"
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
endif

# W=1 is passed down to kbuild by make itself; this is a shorthand.
w1:
	$(MAKE) W=1 modules

clean:
	@if test -f "$(KDIR)/Makefile"; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf out

check:
	@scripts/install-deps --for check $(KA_KERNEL)
	@scripts/check $(CHECK_ARGS)

run:
	scripts/run

deps:
	scripts/install-deps --for check

# Both debug test kernels (6.1, PREEMPT; 6.12, PREEMPT_RT; in parallel),
# or one: make test-kernel TEST_KERNEL=rt-6.12
test-kernel:
	scripts/build-test-kernel $(or $(TEST_KERNEL),6.1 rt-6.12)

dkms-check:
	scripts/dkms-check --all

help:
	@sed -n 's/^#   //p' Makefile
	@echo "targets: all clean check run deps test-kernel dkms-check w1"
	@echo "KDIR=$(KDIR) ($(KDIR_WHY))"

# Userspace tests of the allocator layers (utest/utest.mk): make utest, make fuzz
-include utest/utest.mk
