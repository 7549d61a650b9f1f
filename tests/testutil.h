/* testutil.h - shared helpers for the cmocka tests (tests/test_*.c).
 *
 * Comparisons print the worst element and both values before failing, with a
 * tolerance chosen per case: an element passes if |got - want| <= atol or
 * |got - want| <= rtol * |want| (never tol + |want|, style.md §2.6).
 */
#ifndef SCLAW_TESTUTIL_H
#define SCLAW_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Fails the current test if got and want differ beyond the tolerances. */
#define tu_close(got, want, rtol, atol, what) \
    _tu_close((got), (want), (rtol), (atol), (what), __FILE__, __LINE__)
void _tu_close(double got, double want, double rtol, double atol, const char *what,
               const char *file, int line);
#define tu_allclose_f(got, want, n, rtol, atol, what) \
    _tu_allclose_f((got), (want), (n), (rtol), (atol), (what), __FILE__, __LINE__)
void _tu_allclose_f(const float *got, const float *want, int64_t n, double rtol, double atol,
                    const char *what, const char *file, int line);
#define tu_allclose_d(got, want, n, rtol, atol, what) \
    _tu_allclose_d((got), (want), (n), (rtol), (atol), (what), __FILE__, __LINE__)
void _tu_allclose_d(const double *got, const double *want, int64_t n, double rtol, double atol,
                    const char *what, const char *file, int line);

/* Path of a file under the repository (tests run from the root): "data/paper/x.csv". */
const char *tu_path(const char *rel);
/* A fresh empty directory under $TMPDIR, removed by tu_cleanup(). */
const char *tu_tmpdir(void);
void tu_cleanup(void);
/* A cmocka group teardown that calls tu_cleanup(). */
int tu_teardown(void **state);
/* Write text to a file (test fixture). */
void tu_write_file(const char *path, const char *text);
/* Read a whole file into a malloc'ed string (NULL if missing). */
char *tu_read_file(const char *path);
/* Run the sclaw binary ($SCLAW, default build/sclaw) with a shell-quoted
 * argument string; returns its exit code, stdout and stderr in malloc'ed
 * strings (either may be NULL to discard). */
int tu_sclaw(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A tiny token dataset for training tests: a generated corpus of 40
 * documents, a BPE tokenizer of 300 tokens and its shards, in dir/tok and
 * dir/data (built with the sclaw binary). */
void tu_tiny_dataset(const char *dir);

/* Deterministic pseudo-random numbers for fixtures. */
uint64_t tu_rand_u64(uint64_t *state);
double tu_rand_uniform(uint64_t *state);  /* [0, 1) */
double tu_rand_normal(uint64_t *state);

#endif
