/* testutil.c - helpers shared by the tests (testutil.h). */
#define _GNU_SOURCE
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int elem_ok(double got, double want, double rtol, double atol)
{
    double diff = fabs(got - want);
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want);
    return diff <= atol || diff <= rtol * fabs(want);
}

void _tu_close(double got, double want, double rtol, double atol, const char *what,
               const char *file, int line)
{
    if (elem_ok(got, want, rtol, atol))
        return;
    fprintf(stderr, "%s:%d: %s: got %.17g, want %.17g (rel %.3g, rtol %.1g, atol %.1g)\n", file,
            line, what, got, want, fabs(got - want) / fmax(fabs(want), 1e-300), rtol, atol);
    fail();
}

#define ALLCLOSE(T)                                                                             \
    int64_t worst = -1, bad = 0;                                                                \
    double worst_excess = 0;                                                                    \
    for (int64_t i = 0; i < n; i++) {                                                           \
        double g = (double)got[i], w = (double)want[i];                                         \
        if (elem_ok(g, w, rtol, atol))                                                          \
            continue;                                                                           \
        bad++;                                                                                  \
        double excess = fabs(g - w) / (atol + rtol * fabs(w));                                  \
        if (!isfinite(excess) || excess > worst_excess || worst < 0) {                          \
            worst_excess = isfinite(excess) ? excess : INFINITY;                                \
            worst = i;                                                                          \
        }                                                                                       \
    }                                                                                           \
    if (!bad)                                                                                   \
        return;                                                                                 \
    fprintf(stderr, "%s:%d: %s: %lld of %lld elements differ; worst [%lld]: got %.9g, want %.9g" \
            " (rtol %.1g, atol %.1g)\n", file, line, what, (long long)bad, (long long)n,         \
            (long long)worst, (double)got[worst], (double)want[worst], rtol, atol);             \
    fail();

void _tu_allclose_f(const float *got, const float *want, int64_t n, double rtol, double atol,
                    const char *what, const char *file, int line)
{
    ALLCLOSE(float)
}

void _tu_allclose_d(const double *got, const double *want, int64_t n, double rtol, double atol,
                    const char *what, const char *file, int line)
{
    ALLCLOSE(double)
}

const char *tu_path(const char *rel) { return rel; }

static char tmpdir[4096];

const char *tu_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/sclaw-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return tmpdir;
}

void tu_cleanup(void)
{
    if (tmpdir[0]) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", tmpdir);
        tmpdir[0] = '\0';
    }
}

int tu_teardown(void **state)
{
    (void)state;
    tu_cleanup();
    return 0;
}

void tu_write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0) {
        perror(path);
        abort();
    }
}

char *tu_read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    for (;;) {
        if (n + 1024 >= cap)
            s = realloc(s, cap *= 2);
        size_t r = fread(s + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0)
            break;
    }
    s[n] = '\0';
    fclose(fp);
    return s;
}

int tu_sclaw(char **out, char **err, const char *fmt, ...)
{
    char args[8192], cmd[17000], fo[4200], fe[4200];
    const char *bin = getenv("SCLAW");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(fo, sizeof fo, "%s/.stdout", tu_tmpdir());
    snprintf(fe, sizeof fe, "%s/.stderr", tu_tmpdir());
    snprintf(cmd, sizeof cmd, "%s %s >'%s' 2>'%s' </dev/null", bin ? bin : "build/sclaw", args, fo, fe);
    int rc = system(cmd);
    rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    if (out)
        *out = tu_read_file(fo);
    if (err)
        *err = tu_read_file(fe);
    return rc;
}

void tu_tiny_dataset(const char *dir)
{
    char text[4400];
    snprintf(text, sizeof text, "%s/text.txt", dir);
    FILE *fp = fopen(text, "w");
    if (!fp) {
        perror(text);
        abort();
    }
    for (int d = 0; d < 40; d++) {
        for (int i = 0; i < 30; i++)
            fprintf(fp, "in the beginning %d was the word %d and the word was %d. ", d, i, d * i);
        fprintf(fp, "\n\n");
    }
    fclose(fp);
    if (tu_sclaw(NULL, NULL, "tokenizer train --vocab-size 300 '%s' --out '%s/tok'", text, dir) ||
        tu_sclaw(NULL, NULL, "data prepare --corpus '%s' --docs paragraph --tokenizer '%s/tok'"
                             " --out '%s/data' --val-fraction 0.1", text, dir, dir)) {
        fprintf(stderr, "tu_tiny_dataset: sclaw tokenizer/data failed\n");
        abort();
    }
}

uint64_t tu_rand_u64(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tu_rand_uniform(uint64_t *s) { return (double)(tu_rand_u64(s) >> 11) * 0x1.0p-53; }

double tu_rand_normal(uint64_t *s)
{
    double u1 = tu_rand_uniform(s), u2 = tu_rand_uniform(s);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
