/* csv.c - RFC 4180 CSV tables held in memory as strings (sclaw_io.h). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int sclaw_parse_double(const char *s, double *out)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int sclaw_parse_int64(const char *s, int64_t *out)
{
    double v;
    if (sclaw_parse_double(s, &v) || !isfinite(v) || v != floor(v) || fabs(v) > 9.007199254740992e15)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* A growable byte buffer for one field. */
struct buf {
    char *p;
    size_t n, cap;
};

static int buf_put(struct buf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n++] = c;
    b->p[b->n] = '\0';
    return 0;
}

static char *buf_take(struct buf *b)
{
    char *s = b->p ? b->p : strdup("");
    memset(b, 0, sizeof *b);
    return s;
}

/* Reads one record into a freshly allocated array of fields. Returns 1 on a
 * record, 0 at end of file, negative on error. *line is advanced past the
 * record's newlines. */
static int read_record(FILE *fp, char ***fields, int64_t *nfields, int64_t *line, const char *path)
{
    struct buf b = {0};
    char **f = NULL;
    int64_t n = 0, cap = 0;
    int c, quoted = 0, any = 0, field_started = 0;
    int64_t start_line = *line;

    for (;;) {
        c = fgetc(fp);
        if (c == EOF) {
            if (quoted) {
                free(b.p);
                goto unterminated;
            }
            if (!any) {
                free(b.p);
                *fields = NULL;
                *nfields = 0;
                return 0;
            }
            break;
        }
        any = 1;
        if (quoted) {
            if (c == '"') {
                int d = fgetc(fp);
                if (d == '"') {
                    if (buf_put(&b, '"'))
                        goto nomem;
                } else {
                    quoted = 0;
                    if (d != EOF)
                        ungetc(d, fp);
                }
            } else {
                if (c == '\n')
                    (*line)++;
                if (buf_put(&b, (char)c))
                    goto nomem;
            }
            continue;
        }
        if (c == '"' && !field_started) {
            quoted = 1;
            field_started = 1;
            continue;
        }
        if (c == ',' || c == '\n') {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nf = realloc(f, cap * sizeof *f);
                if (!nf)
                    goto nomem;
                f = nf;
            }
            f[n++] = buf_take(&b);
            field_started = 0;
            if (c == '\n') {
                (*line)++;
                *fields = f;
                *nfields = n;
                return 1;
            }
            continue;
        }
        if (c == '\r')
            continue;
        field_started = 1;
        if (buf_put(&b, (char)c))
            goto nomem;
    }
    /* last record without a trailing newline */
    if (n == cap) {
        char **nf = realloc(f, (cap + 1) * sizeof *f);
        if (!nf)
            goto nomem;
        f = nf;
    }
    f[n++] = buf_take(&b);
    (*line)++;
    *fields = f;
    *nfields = n;
    return 1;

unterminated:
    for (int64_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
    return -sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: unterminated quoted field", path,
                       (long long)start_line);
nomem:
    free(b.p);
    for (int64_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
    return -sclaw_fail(SCLAW_E_NOMEM, "%s: out of memory", path);
}

static int grow_rows(struct sclaw_csv *t, int64_t need)
{
    if (need <= t->cap)
        return 0;
    int64_t cap = t->cap ? t->cap : 64;
    while (cap < need)
        cap *= 2;
    char **cells = realloc(t->cells, (size_t)(cap * t->ncols) * sizeof *cells);
    if (!cells)
        return -1;
    t->cells = cells;
    int64_t *line = realloc(t->line, (size_t)cap * sizeof *line);
    if (!line)
        return -1;
    t->line = line;
    t->cap = cap;
    return 0;
}

int sclaw_csv_read(struct sclaw_csv *t, const char *path)
{
    memset(t, 0, sizeof *t);
    int st = SCLAW_OK;
    char **f = NULL;
    int64_t nf = 0, line = 1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
    t->path = strdup(path);

    int r = read_record(fp, &f, &nf, &line, path);
    if (r < 0) {
        st = -r;
        goto done;
    }
    if (r == 0 || (nf == 1 && !f[0][0])) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: empty file, expected a header row", path);
        goto done;
    }
    /* strip a UTF-8 byte-order mark from the first column name */
    if ((unsigned char)f[0][0] == 0xEF && (unsigned char)f[0][1] == 0xBB &&
        (unsigned char)f[0][2] == 0xBF)
        memmove(f[0], f[0] + 3, strlen(f[0] + 3) + 1);
    t->header = f;
    t->ncols = nf;
    f = NULL;

    for (;;) {
        int64_t row_line = line;
        r = read_record(fp, &f, &nf, &line, path);
        if (r < 0) {
            st = -r;
            goto done;
        }
        if (r == 0)
            break;
        if (nf == 1 && !f[0][0]) { /* blank line */
            free(f[0]);
            free(f);
            f = NULL;
            continue;
        }
        if (nf != t->ncols) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: %lld fields, the header has %lld", path,
                            (long long)row_line, (long long)nf, (long long)t->ncols);
            goto done;
        }
        if (grow_rows(t, t->nrows + 1)) {
            st = sclaw_fail(SCLAW_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
        memcpy(t->cells + t->nrows * t->ncols, f, (size_t)nf * sizeof *f);
        t->line[t->nrows++] = row_line;
        free(f);
        f = NULL;
    }
    if (ferror(fp))
        st = sclaw_fail(SCLAW_E_IO, "cannot read '%s': %s", path, strerror(errno));
done:
    if (f) {
        for (int64_t i = 0; i < nf; i++)
            free(f[i]);
        free(f);
    }
    fclose(fp);
    if (st)
        sclaw_csv_free(t);
    return st;
}

int sclaw_csv_init(struct sclaw_csv *t, int64_t ncols, const char *const *names)
{
    memset(t, 0, sizeof *t);
    t->header = calloc((size_t)(ncols ? ncols : 1), sizeof *t->header);
    if (!t->header)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    t->ncols = ncols;
    for (int64_t i = 0; i < ncols; i++)
        if (!(t->header[i] = strdup(names[i]))) {
            sclaw_csv_free(t);
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        }
    return SCLAW_OK;
}

void sclaw_csv_free(struct sclaw_csv *t)
{
    if (t->header)
        for (int64_t i = 0; i < t->ncols; i++)
            free(t->header[i]);
    if (t->cells)
        for (int64_t i = 0; i < t->nrows * t->ncols; i++)
            free(t->cells[i]);
    free(t->header);
    free(t->cells);
    free(t->line);
    free(t->path);
    memset(t, 0, sizeof *t);
}

int64_t sclaw_csv_col(const struct sclaw_csv *t, const char *name)
{
    for (int64_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->header[i], name))
            return i;
    return -1;
}

int sclaw_csv_require(const struct sclaw_csv *t, const char *name, int64_t *col)
{
    *col = sclaw_csv_col(t, name);
    if (*col < 0)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: missing column '%s'", t->path ? t->path : "csv",
                          name);
    return SCLAW_OK;
}

int sclaw_csv_double(const struct sclaw_csv *t, int64_t row, int64_t col, double *out)
{
    const char *s = sclaw_csv_cell(t, row, col);
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        *out = NAN;
        return SCLAW_OK;
    }
    if (sclaw_parse_double(s, out))
        return sclaw_fail(SCLAW_E_FORMAT, "%s:%lld: column '%s': '%s' is not a number",
                          t->path ? t->path : "csv", (long long)(t->line ? t->line[row] : row + 2),
                          t->header[col], s);
    return SCLAW_OK;
}

int sclaw_csv_add_col(struct sclaw_csv *t, const char *name, int64_t *col)
{
    int64_t c = sclaw_csv_col(t, name);
    if (c >= 0) {
        *col = c;
        return SCLAW_OK;
    }
    int64_t nc = t->ncols + 1;
    char **header = realloc(t->header, (size_t)nc * sizeof *header);
    if (!header)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    t->header = header;
    if (!(header[t->ncols] = strdup(name)))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    int64_t cap = t->cap;
    char **cells = calloc((size_t)(cap > 0 ? cap * nc : 1), sizeof *cells);
    if (!cells)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (int64_t r = 0; r < t->nrows; r++) {
        memcpy(cells + r * nc, t->cells + r * t->ncols, (size_t)t->ncols * sizeof *cells);
        if (!(cells[r * nc + t->ncols] = strdup(""))) {
            free(cells);
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        }
    }
    free(t->cells);
    t->cells = cells;
    *col = t->ncols;
    t->ncols = nc;
    return SCLAW_OK;
}

int sclaw_csv_add_row(struct sclaw_csv *t, int64_t *row)
{
    if (grow_rows(t, t->nrows + 1))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    for (int64_t c = 0; c < t->ncols; c++)
        if (!(t->cells[t->nrows * t->ncols + c] = strdup("")))
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    t->line[t->nrows] = 0;
    *row = t->nrows++;
    return SCLAW_OK;
}

int sclaw_csv_set(struct sclaw_csv *t, int64_t row, int64_t col, const char *text)
{
    char *s = strdup(text);
    if (!s)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    free(t->cells[row * t->ncols + col]);
    t->cells[row * t->ncols + col] = s;
    return SCLAW_OK;
}

int sclaw_csv_set_double(struct sclaw_csv *t, int64_t row, int64_t col, double v)
{
    char buf[64] = "";
    if (isfinite(v))
        snprintf(buf, sizeof buf, "%.17g", v);
    return sclaw_csv_set(t, row, col, buf);
}

static void print_field(const char *s, FILE *fp)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

int sclaw_csv_print(const struct sclaw_csv *t, FILE *fp)
{
    for (int64_t c = 0; c < t->ncols; c++) {
        if (c)
            fputc(',', fp);
        print_field(t->header[c], fp);
    }
    fputc('\n', fp);
    for (int64_t r = 0; r < t->nrows; r++) {
        for (int64_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', fp);
            print_field(sclaw_csv_cell(t, r, c), fp);
        }
        fputc('\n', fp);
    }
    if (ferror(fp))
        return sclaw_fail(SCLAW_E_IO, "write error: %s", strerror(errno));
    return SCLAW_OK;
}

static int print_table(const void *t, FILE *fp) { return sclaw_csv_print(t, fp); }

int sclaw_csv_write(const struct sclaw_csv *t, const char *path)
{
    return sclaw_atomic_print(path, print_table, t);
}
