/* status.c - thread-local error messages and warnings (sclaw_status.h). */
#include "sclaw_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char errbuf[2048];
static sclaw_log_fn warn_fn;
static void *warn_user;

int sclaw_fail(enum sclaw_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return st;
}

int sclaw_wrap(enum sclaw_status st, const char *fmt, ...)
{
    char prefix[1024], old[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof old);
    /* truncation of an over-long message is acceptable */
    size_t n = strlen(prefix);
    if (n >= sizeof errbuf)
        n = sizeof errbuf - 1;
    memcpy(errbuf, prefix, n);
    errbuf[n] = '\0';
    if (old[0] && n + 2 < sizeof errbuf) {
        memcpy(errbuf + n, ": ", 3);
        strncat(errbuf, old, sizeof errbuf - n - 3);
    }
    return st;
}

const char *sclaw_errmsg(void) { return errbuf; }

void sclaw_clear_error(void) { errbuf[0] = '\0'; }

const char *sclaw_status_str(enum sclaw_status st)
{
    switch (st) {
    case SCLAW_OK: return "ok";
    case SCLAW_E_ARG: return "bad argument";
    case SCLAW_E_IO: return "i/o error";
    case SCLAW_E_FORMAT: return "bad format";
    case SCLAW_E_SHAPE: return "shape mismatch";
    case SCLAW_E_NOMEM: return "out of memory";
    case SCLAW_E_NUMERIC: return "numerical error";
    case SCLAW_E_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

void sclaw_set_warn_handler(sclaw_log_fn fn, void *user)
{
    warn_fn = fn;
    warn_user = user;
}

void sclaw_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!warn_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn_fn(msg, warn_user);
}

void sclaw_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "sclaw: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
