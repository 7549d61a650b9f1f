/* test_bench.c - benchmark utilities (sclaw_bench.h): median, timer, CPU line.
 * The GEMM and bandwidth baselines take seconds and are exercised by
 * bench/bench_kernels.c, not here. */
#include "testutil.h"

#include <string.h>

#include "sclaw_bench.h"

static void test_median(void **state)
{
    (void)state;
    double odd[] = { 5, 1, 3 };
    tu_close(sclaw_bench_median(odd, 3), 3, 0, 0, "median of 3");
    double even[] = { 4, 1, 3, 2 };
    tu_close(sclaw_bench_median(even, 4), 2.5, 0, 0, "median of 4");
    double one[] = { 7 };
    tu_close(sclaw_bench_median(one, 1), 7, 0, 0, "median of 1");
}

static int calls;
static void spin(void *arg)
{
    double until = sclaw_bench_now() + *(double *)arg;
    while (sclaw_bench_now() < until)
        ;
    calls++;
}

static void test_timer(void **state)
{
    (void)state;
    double t0 = sclaw_bench_now();
    double t1 = sclaw_bench_now();
    assert_true(t1 >= t0);
    double d = 2e-3;
    calls = 0;
    double med = sclaw_bench_time(spin, &d, 2, 5);
    assert_int_equal(calls, 7);
    /* a busy wait of 2 ms takes at least 2 ms and (even on a loaded machine) well under 1 s */
    assert_true(med >= 2e-3);
    assert_true(med < 1.0);
}

static void test_cpu_clock(void **state)
{
    (void)state;
    /* busy work advances the process CPU clock (within a generous wall limit) */
    double c0 = sclaw_bench_cpu_now(), w0 = sclaw_bench_now(), c = c0;
    while (c - c0 < 5e-3 && sclaw_bench_now() - w0 < 10.0)
        c = sclaw_bench_cpu_now();
    assert_true(c - c0 >= 5e-3);
    /* and CPU time never runs ahead of wall time for one busy thread by much */
    assert_true(c - c0 <= sclaw_bench_now() - w0 + 1e-3);
}

static void test_cpu_line(void **state)
{
    (void)state;
    char buf[512];
    sclaw_bench_cpu_line(buf, sizeof buf);
    assert_non_null(strstr(buf, "cores"));
    assert_non_null(strstr(buf, "avx512f"));
    char tiny[8];
    sclaw_bench_cpu_line(tiny, sizeof tiny);
    assert_true(strlen(tiny) == 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median),
        cmocka_unit_test(test_timer),
        cmocka_unit_test(test_cpu_clock),
        cmocka_unit_test(test_cpu_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
