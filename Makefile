# SPDX-License-Identifier: GPL-2.0
# ka: user entry points.  The module build itself is described by the Kbuild
# files; this Makefile only drives kbuild and the scripts.
#
#   make [KDIR=...] [W=1]   build ka.ko and the client modules in place
#   make run                boot the stock kernel, load ka and the demo
#   make check              the full test run (see README.md, "Testing")

# The running kernel's build tree if it has one, else the newest installed
# Debian headers.
ifeq ($(origin KDIR),undefined)
KDIR := $(or $(patsubst %/Makefile,%,$(wildcard /lib/modules/$(shell uname -r)/build/Makefile)),\
	$(shell ls -d /usr/src/linux-headers-*-amd64 /lib/modules/*/build 2>/dev/null | \
		sort -V | tail -n 1))
endif

.PHONY: all modules clean check run deps test-kernel dkms-check w1 help

all: modules

modules:
	@test -f "$(KDIR)/Makefile" || { echo "make: no kernel build tree at KDIR='$(KDIR)': install linux-headers-amd64 (make deps) or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# W=1 is passed down to kbuild by make itself; this is a shorthand.
w1:
	$(MAKE) W=1 modules

clean:
	@if test -f "$(KDIR)/Makefile"; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf out

check:
	@scripts/check $(CHECK_ARGS)

run:
	scripts/run

deps:
	scripts/install-deps

test-kernel:
	scripts/build-test-kernel

dkms-check:
	scripts/dkms-check

help:
	@sed -n 's/^#   //p' Makefile
	@echo "targets: all clean check run deps test-kernel dkms-check w1"
	@echo "KDIR=$(KDIR)"

# Userspace tests of the allocator layers (utest/utest.mk): make utest, make fuzz
-include utest/utest.mk
