/* json.c - Jansson file helpers (sclaw_io.h). */
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER)

int sclaw_json_load(const char *path, json_t **out)
{
    json_error_t err;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!*out) {
        if (err.line <= 0)
            return sclaw_fail(SCLAW_E_IO, "cannot read '%s': %s", path, err.text);
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    return SCLAW_OK;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return fwrite(buf, 1, size, (FILE *)data) == size ? 0 : -1;
}

int sclaw_json_print(const json_t *v, FILE *fp)
{
    if (json_dump_callback(v, dump_cb, fp, JSON_FLAGS) != 0 || fputc('\n', fp) == EOF)
        return sclaw_fail(SCLAW_E_IO, "cannot write json: %s", strerror(errno));
    return SCLAW_OK;
}

int sclaw_json_write(const char *path, const json_t *v)
{
    struct sclaw_atomic a;
    int st = sclaw_atomic_open(&a, path, "w");
    if (st)
        return st;
    if ((st = sclaw_json_print(v, a.fp))) {
        sclaw_atomic_abort(&a);
        return sclaw_wrap(st, "writing '%s'", path);
    }
    return sclaw_atomic_commit(&a);
}

json_t *sclaw_json_number(double x)
{
    if (!isfinite(x))
        return json_null();
    if (x == floor(x) && fabs(x) < 9.007199254740992e15)
        return json_integer((json_int_t)x);
    return json_real(x);
}
