// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the emulated NIC's packet parser (drivers/gve/emu/packet.rs).
 * In 6.12 Rust code outside the kernel crate cannot declare KUnit suites,
 * so this glue declares the suite and the cases call into the Rust code.
 */
#include <kunit/test.h>

#include "glue.h"

static void gve_rs_emu_test_parse(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, gve_rs_emu_kunit_parse());
}

static void gve_rs_emu_test_toeplitz(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, gve_rs_emu_kunit_toeplitz());
}

static void gve_rs_emu_test_tso(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, gve_rs_emu_kunit_tso());
}

static struct kunit_case gve_rs_emu_cases[] = {
	KUNIT_CASE(gve_rs_emu_test_parse),
	KUNIT_CASE(gve_rs_emu_test_toeplitz),
	KUNIT_CASE(gve_rs_emu_test_tso),
	{}
};

static struct kunit_suite gve_rs_emu_suite = {
	.name = "gve_rs_emu_packet",
	.test_cases = gve_rs_emu_cases,
};

kunit_test_suite(gve_rs_emu_suite);
