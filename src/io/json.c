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

static int print_value(const void *v, FILE *fp) { return sclaw_json_print(v, fp); }

int sclaw_json_write(const char *path, const json_t *v)
{
    return sclaw_atomic_print(path, print_value, v);
}

json_t *sclaw_json_number(double x)
{
    if (!isfinite(x))
        return json_null();
    if (x == floor(x) && fabs(x) < 9.007199254740992e15)
        return json_integer((json_int_t)x);
    return json_real(x);
}
