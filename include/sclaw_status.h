/* sclaw_status.h - status codes, error messages and invariant checks.
 *
 * Every fallible library function returns an enum sclaw_status and passes its
 * results out through pointers. On failure it records a human-readable message
 * (git style: lowercase, problem first, subject quoted, file and line or field
 * named when known) in a thread-local buffer that the caller reads with
 * sclaw_errmsg(). The library never prints and never exits: the CLI decides.
 *
 *     if (!fp) return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
 *     if ((st = read_header(fp))) return sclaw_wrap(st, "reading checkpoint '%s'", path);
 *
 * SCLAW_ASSERT is for programmer errors only (abort with file:line), never for
 * anything that comes from a file, a flag or the data.
 */
#ifndef SCLAW_STATUS_H
#define SCLAW_STATUS_H

#include <stdarg.h>

/* Append only: values are stable across versions. */
enum sclaw_status {
    SCLAW_OK = 0,
    SCLAW_E_ARG,         /* bad argument or option value */
    SCLAW_E_IO,          /* open/read/write/rename failed */
    SCLAW_E_FORMAT,      /* malformed file contents */
    SCLAW_E_SHAPE,       /* sizes or shapes that do not agree */
    SCLAW_E_NOMEM,       /* allocation failed or would not fit */
    SCLAW_E_NUMERIC,     /* NaN/Inf, a fit that did not converge */
    SCLAW_E_INTERRUPTED  /* stopped by a signal */
};

/* Record a message for status st and return st. */
int sclaw_fail(enum sclaw_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with context: "ctx: old message"; returns st. */
int sclaw_wrap(enum sclaw_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread ("" if none). */
const char *sclaw_errmsg(void);
/* Forget the last message. */
void sclaw_clear_error(void);
/* A short name for a status ("io error", ...). */
const char *sclaw_status_str(enum sclaw_status st);

/* Optional sink for warnings the library wants a user to see (e.g. a skipped
 * IsoFLOP budget). The CLI installs one that prints to stderr; by default
 * warnings are dropped. */
typedef void (*sclaw_log_fn)(const char *msg, void *user);
void sclaw_set_warn_handler(sclaw_log_fn fn, void *user);
void sclaw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void sclaw_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));
#define SCLAW_ASSERT(x) \
    ((x) ? (void)0 : sclaw_assert_fail(#x, __FILE__, __LINE__))

#endif
