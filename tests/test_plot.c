/* test_plot.c - report figures (sclaw_plot.h): PNG/SVG files are complete and
 * atomic, several figures per process work, bad points are skipped, errors
 * leave nothing behind and do not break later figures. */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_plot.h"
#include "sclaw_status.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <plplot.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? -1 : (long)sb.st_size;
}

/* Files in dir whose name contains ".tmp." (left-over temporaries). */
static int count_tmp(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static unsigned char *read_bin(const char *path, long *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = ftell(fp);
    rewind(fp);
    unsigned char *b = malloc((size_t)*n + 1);
    assert_int_equal(fread(b, 1, (size_t)*n, fp), (size_t)*n);
    b[*n] = 0;
    fclose(fp);
    return b;
}

/* PNG checks straight from the file format: 8-byte signature, IHDR first
 * with big-endian width and height, IEND chunk last. */
static void check_png(const char *path, long w, long h)
{
    long n;
    unsigned char *b = read_bin(path, &n);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(n > 5000);
    assert_memory_equal(b, sig, 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    long pw = (long)b[16] << 24 | (long)b[17] << 16 | (long)b[18] << 8 | b[19];
    long ph = (long)b[20] << 24 | (long)b[21] << 16 | (long)b[22] << 8 | b[23];
    assert_int_equal(pw, w);
    assert_int_equal(ph, h);
    assert_memory_equal(b + n - 8, "IEND", 4);
    free(b);
}

static char *check_svg(const char *path)
{
    char *s = tu_read_file(path);
    assert_non_null(s);
    assert_true(strlen(s) > 5000);
    assert_non_null(strstr(s, "<svg"));
    assert_non_null(strstr(s, "</svg>"));
    return s;
}

/* A 2x2 figure exercising every feature. */
static void build(struct sclaw_plot_fig *f, int seed)
{
    double x[40], y[40], y2[40];
    assert_int_equal(sclaw_plot_init(f, 2, 2, "test figure"), SCLAW_OK);
    for (int i = 0; i < 40; i++) {
        x[i] = pow(10, 18 + 4.0 * i / 39);
        y[i] = 0.01 * pow(x[i], 0.55) * (1 + 0.05 * sin(i + seed));
        y2[i] = 2.5 + 0.3 * cos(0.2 * i);
    }
    struct sclaw_plot_panel *p = sclaw_plot_panel(f, 0, 0);
    assert_int_equal(sclaw_plot_labels(p, "log-log", "C [FLOPs]", "N#u*#d"), SCLAW_OK);
    p->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
    for (int m = 1; m < SCLAW_MARK_COUNT; m++) {
        double ys[40];
        for (int i = 0; i < 40; i++)
            ys[i] = y[i] * (1 + 0.3 * m);
        char lab[16];
        snprintf(lab, sizeof lab, "marker %d", m);
        assert_int_equal(sclaw_plot_scatter(p, lab, x, ys, 40, sclaw_plot_color(m), m), SCLAW_OK);
    }
    p->legend = SCLAW_LEGEND_OUTSIDE_RIGHT;
    p = sclaw_plot_panel(f, 0, 1);
    sclaw_plot_labels(p, "lin y, log x", "C", "loss");
    p->flags = SCLAW_PLOT_XLOG;
    for (int l = 1; l < SCLAW_LINE_COUNT; l++) {
        double ys[40];
        for (int i = 0; i < 40; i++)
            ys[i] = y2[i] + 0.1 * l;
        assert_int_equal(sclaw_plot_line(p, "line", x, ys, 40, sclaw_plot_ramp(l / 3.0), l),
                         SCLAW_OK);
    }
    p->legend = SCLAW_LEGEND_BOTTOM_LEFT;
    p->legend_cols = 2;
    p = sclaw_plot_panel(f, 1, 0);
    sclaw_plot_labels(p, "fixed range", NULL, NULL);
    p->xlim[0] = 1e19;
    p->xlim[1] = 1e21;
    p->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG; /* y spans < 1 decade */
    struct sclaw_plot_style both = {0x000000, SCLAW_MARK_SQUARE, SCLAW_LINE_DASHED, 2.0, 1.5};
    assert_int_equal(sclaw_plot_add(p, "both", x, y2, 40, &both), SCLAW_OK);
    /* panel (1,1) stays empty: axes only */
}

static void test_writes_png_and_svg(void **state)
{
    (void)state;
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/fig", tu_tmpdir());
    struct sclaw_plot_fig f;
    build(&f, 0);
    PLINT before = -1, after = -2;
    plgstrm(&before);
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
    plgstrm(&after);
    assert_int_equal(before, after);
    snprintf(path, sizeof path, "%s.png", base);
    check_png(path, f.width, f.height);
    snprintf(path, sizeof path, "%s.svg", base);
    free(check_svg(path));
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    sclaw_plot_free(&f);
    sclaw_plot_free(&f); /* safe twice */
}

/* Several figures per process, of different sizes, overwriting old files;
 * the caller's own current PLplot stream is restored each time. */
static void test_many_figures(void **state)
{
    (void)state;
    char base[4096], path[4200];
    PLINT mine = -1, cur = -1;
    plmkstrm(&mine); /* as an application that uses PLplot itself would */
    assert_true(mine > 0);
    for (int k = 0; k < 4; k++) {
        struct sclaw_plot_fig f;
        build(&f, k);
        f.width = 800 + 100 * k;
        f.height = 600 + 50 * k;
        snprintf(base, sizeof base, "%s/fig%d", tu_tmpdir(), k % 2);
        assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
        plgstrm(&cur);
        assert_int_equal(cur, mine);
        snprintf(path, sizeof path, "%s.png", base);
        check_png(path, f.width, f.height);
        sclaw_plot_free(&f);
    }
    plsstrm(mine);
    plend1();
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
}

/* Points that cannot be drawn (NaN, inf, <= 0 on a log axis) are skipped: a
 * series with no usable point leaves no trace of its colour in the SVG
 * (cairo writes colours as "rgb(20%,40%,60%)"), a usable one does. */
static void test_skips_unusable_points(void **state)
{
    (void)state;
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/skip", tu_tmpdir());
    struct sclaw_plot_fig f;
    assert_int_equal(sclaw_plot_init(&f, 1, 1, NULL), SCLAW_OK);
    struct sclaw_plot_panel *p = sclaw_plot_panel(&f, 0, 0);
    p->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
    double xb[4] = {NAN, 1.0, -3.0, INFINITY}, yb[4] = {1.0, 0.0, 2.0, 3.0};
    double xg[3] = {1.0, 10.0, 100.0}, yg[3] = {5.0, NAN, 7.0};
    assert_int_equal(sclaw_plot_scatter(p, NULL, xb, yb, 4, 0x336699, SCLAW_MARK_CIRCLE), SCLAW_OK);
    assert_int_equal(sclaw_plot_line(p, NULL, xb, yb, 4, 0x336699, SCLAW_LINE_SOLID), SCLAW_OK);
    assert_int_equal(sclaw_plot_scatter(p, NULL, xg, yg, 3, 0xcc9933, SCLAW_MARK_SQUARE), SCLAW_OK);
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
    snprintf(path, sizeof path, "%s.svg", base);
    char *svg = check_svg(path);
    assert_null(strstr(svg, "rgb(20%,40%,60%)"));
    assert_non_null(strstr(svg, "rgb(80%,60%,20%)"));
    free(svg);
    sclaw_plot_free(&f);
}

/* A directory that does not exist, or a path through a regular file: a clean
 * error naming the file, nothing created, and the next figure still works. */
static void test_unwritable_directory(void **state)
{
    (void)state;
    char base[4096], path[4200], msg[512];
    struct sclaw_plot_fig f;
    build(&f, 1);
    snprintf(base, sizeof base, "%s/missing/fig", tu_tmpdir());
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_E_IO);
    snprintf(msg, sizeof msg, "%s", sclaw_errmsg());
    assert_non_null(strstr(msg, "missing/fig.png"));
    snprintf(path, sizeof path, "%s/missing", tu_tmpdir());
    assert_int_equal(file_size(path), -1);

    snprintf(path, sizeof path, "%s/plainfile", tu_tmpdir());
    tu_write_file(path, "x");
    snprintf(base, sizeof base, "%s/plainfile/fig", tu_tmpdir());
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "plainfile/fig.png"));

    snprintf(base, sizeof base, "%s/after_error", tu_tmpdir());
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
    snprintf(path, sizeof path, "%s.png", base);
    check_png(path, f.width, f.height);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    sclaw_plot_free(&f);
}

/* A target that is a directory: refused before anything is replaced. */
static void test_existing_target_untouched(void **state)
{
    (void)state;
    char base[4096], path[4200];
    struct sclaw_plot_fig f;
    build(&f, 2);
    snprintf(base, sizeof base, "%s/keep", tu_tmpdir());
    snprintf(path, sizeof path, "%s.png", base);
    tu_write_file(path, "old");
    snprintf(path, sizeof path, "%s.svg", base);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "keep.svg"));
    snprintf(path, sizeof path, "%s.png", base);
    char *old = tu_read_file(path);
    assert_string_equal(old, "old");
    free(old);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    sclaw_plot_free(&f);
}

/* The disk fills up while PLplot writes (simulated with a file-size limit):
 * the truncated PNG is detected, nothing is left behind, an existing target
 * survives, and PLplot draws the next figure normally. */
static void test_write_fails_midway(void **state)
{
    (void)state;
    char base[4096], path[4200];
    struct sclaw_plot_fig f;
    build(&f, 3);
    snprintf(base, sizeof base, "%s/full", tu_tmpdir());
    snprintf(path, sizeof path, "%s.png", base);
    tu_write_file(path, "old");
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 20000; /* the figure's PNG is larger */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a signal */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int st = sclaw_plot_write(&f, base);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "full.png"));
    assert_non_null(strstr(sclaw_errmsg(), "incomplete"));
    char *kept = tu_read_file(path);
    assert_string_equal(kept, "old");
    free(kept);
    snprintf(path, sizeof path, "%s.svg", base);
    assert_int_equal(file_size(path), -1);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);

    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
    snprintf(path, sizeof path, "%s.png", base);
    check_png(path, f.width, f.height);
    sclaw_plot_free(&f);
}

/* All PLplot streams taken by the application: a clean error, the
 * application's current stream untouched, and figures work once it frees
 * them. */
static void test_no_free_stream(void **state)
{
    (void)state;
    char base[4096], path[4200];
    PLINT mine[128], n = 0, cur = -1;
    for (;;) {
        PLINT s = -1;
        plmkstrm(&s); /* PLplot prints a line on stderr when none is left */
        if (s < 0)
            break;
        mine[n++] = s;
        assert_true(n < 128);
    }
    assert_true(n > 10);
    struct sclaw_plot_fig f;
    build(&f, 4);
    snprintf(base, sizeof base, "%s/nostream", tu_tmpdir());
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_E_IO);
    assert_non_null(strstr(sclaw_errmsg(), "no free plplot stream"));
    plgstrm(&cur);
    assert_int_equal(cur, mine[n - 1]);
    snprintf(path, sizeof path, "%s.png", base);
    assert_int_equal(file_size(path), -1);
    assert_int_equal(count_tmp(tu_tmpdir()), 0);
    for (PLINT i = 0; i < n; i++) {
        plsstrm(mine[i]);
        plend1();
    }
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_OK);
    check_png(path, f.width, f.height);
    sclaw_plot_free(&f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct sclaw_plot_fig f;
    assert_int_equal(sclaw_plot_init(&f, 0, 1, NULL), SCLAW_E_ARG);
    assert_int_equal(sclaw_plot_init(&f, 1, 9, NULL), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "1 x 9"));
    sclaw_plot_free(&f); /* zeroed by the failed init */
    assert_int_equal(sclaw_plot_init(&f, 1, 1, NULL), SCLAW_OK);
    struct sclaw_plot_panel *p = sclaw_plot_panel(&f, 0, 0);
    double x = 1, y = 1;
    assert_int_equal(sclaw_plot_scatter(p, "bad", &x, &y, 1, 0, SCLAW_MARK_COUNT), SCLAW_E_ARG);
    assert_non_null(strstr(sclaw_errmsg(), "'bad'"));
    assert_int_equal(sclaw_plot_line(p, "bad", &x, &y, 1, 0, -1), SCLAW_E_ARG);
    assert_int_equal(sclaw_plot_scatter(p, "neg", &x, &y, -1, 0, SCLAW_MARK_CIRCLE), SCLAW_E_ARG);
    assert_int_equal(p->nseries, 0);
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/tiny", tu_tmpdir());
    f.width = 8;
    assert_int_equal(sclaw_plot_write(&f, base), SCLAW_E_ARG);
    snprintf(path, sizeof path, "%s.png", base);
    assert_int_equal(file_size(path), -1);
    sclaw_plot_free(&f);
}

static void test_palette(void **state)
{
    (void)state;
    assert_int_equal(sclaw_plot_color(0), 0x1f77b4);
    assert_int_equal(sclaw_plot_color(10), sclaw_plot_color(0));
    assert_int_equal(sclaw_plot_color(-1), sclaw_plot_color(9));
    assert_int_not_equal(sclaw_plot_color(0), sclaw_plot_color(1));
    assert_int_equal(sclaw_plot_ramp(0), 0x440154); /* first stop: (68, 1, 84) */
    assert_int_equal(sclaw_plot_ramp(-5), 0x440154);
    assert_int_equal(sclaw_plot_ramp(1), 0xc8be14); /* last stop: (200, 190, 20) */
    assert_int_equal(sclaw_plot_ramp(NAN), 0x440154);
    assert_int_equal(sclaw_plot_ramp(0.5), 0x21918c); /* middle stop: (33, 145, 140) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_png_and_svg),
        cmocka_unit_test(test_many_figures),
        cmocka_unit_test(test_skips_unusable_points),
        cmocka_unit_test(test_unwritable_directory),
        cmocka_unit_test(test_existing_target_untouched),
        cmocka_unit_test(test_write_fails_midway),
        cmocka_unit_test(test_no_free_stream),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_palette),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
