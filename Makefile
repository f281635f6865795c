# SPDX-License-Identifier: GPL-2.0
#
# devmem-rs: Device Memory TCP for Linux 6.12, in Rust.
#
#   make run      boot the VM, show devmem-rs in the kernel, run a devmem receive
#   make test     host checks + KUnit + selftests in one VM boot
#
# Both install what they need first (make setup). Other targets:
#   make setup    Debian packages + pinned bindgen-cli (idempotent)
#   make kernel   unpack/patch/configure/build the kernel in the cache
#   make ncdevmem build upstream's ncdevmem selftest binary in the cache
#   make drv-tests build what upstream's driver selftests need (csum)
#   make vm [CMD='...']  boot the kernel; run CMD, or give a shell
#   make bench [QUICK=1] measure devmem vs copy receive (tools/net/devmem-rx)
#                 in the VM; results in bench-results/
#   make clippy   build our crates with CLIPPY=1 (separate output dir)
#   make patches-check   the patch series applies cleanly to 6.12
#   make fresh-check     make run, then make test from a second clean
#                 clone, as root of a bare Debian 12 (debootstrap) root
#                 (DEVMEM_FRESH_STEPS=setup: only make setup there)
#
# Settings (environment or make variables): DEVMEM_CACHE (build cache,
# default ~/.cache/devmem-rs), JOBS, DEVMEM_ACCEL (tcg|kvm), DEVMEM_VM_MEM,
# CORE (rust, the default, or c: upstream's C devmem core, built in
# $DEVMEM_CACHE/build-c).
#
# When this directory is joined to a kernel tree as devmem-rs/, Kbuild
# (not this Makefile) describes its objects.

SHELL := /bin/bash
S := $(CURDIR)/scripts
export DEVMEM_CACHE JOBS DEVMEM_ACCEL DEVMEM_VM_MEM TESTS QUICK CORE

.PHONY: all run test setup kernel ncdevmem drv-tests vm clippy patches-check fresh-check bench

all: test

setup:
	@$(S)/setup.sh

kernel: setup
	@$(S)/kernel.sh build

ncdevmem: setup
	@$(S)/kernel.sh tree
	@$(S)/ncdevmem.sh

drv-tests: ncdevmem
	@$(S)/drv-tests.sh

clippy: setup
	@$(S)/kernel.sh clippy

patches-check: setup
	@$(S)/kernel.sh patches-check

vm: kernel ncdevmem drv-tests
	@$(S)/vm.sh $(if $(CMD),-t $(or $(TIMEOUT),1800) '$(CMD)')

run:
	@$(S)/run.sh

fresh-check:
	@$(S)/fresh-check.sh

test:
	@$(S)/test.sh

bench:
	@$(S)/bench.sh
