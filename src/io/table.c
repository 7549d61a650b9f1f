/* table.c - aligned text tables and number formatting for human output (sclaw_io.h). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *sclaw_fmt_group(char *buf, size_t n, double x)
{
    /* large non-integral counts (0.65 x causal FLOPs, bytes per token) are
     * shown rounded; small fractions keep their digits */
    if (fabs(x) >= 1e6 && fabs(x) < 9.007199254740992e15)
        x = round(x);
    if (!isfinite(x) || x != floor(x) || fabs(x) >= 9.007199254740992e15) {
        snprintf(buf, n, "%.6g", x);
        return buf;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)fabs(x));
    size_t len = strlen(digits), o = 0;
    if (x < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

char *sclaw_fmt_si(char *buf, size_t n, double x)
{
    static const char *suffix[] = {"", "K", "M", "G", "T", "P"};
    double a = fabs(x);
    if (!isfinite(x)) {
        snprintf(buf, n, "%g", x);
        return buf;
    }
    if (a >= 1e18) {
        snprintf(buf, n, "%.4g", x);
        return buf;
    }
    int k = 0;
    while (a >= 1000.0 && k < 5) {
        a /= 1000.0;
        x /= 1000.0;
        k++;
    }
    snprintf(buf, n, k ? "%.4g%s" : "%.6g%s", x, suffix[k]);
    return buf;
}

int sclaw_table_init(struct sclaw_table *tb, int64_t ncols, const char *const *header)
{
    memset(tb, 0, sizeof *tb);
    tb->ncols = ncols;
    tb->right = calloc((size_t)ncols, sizeof *tb->right);
    if (!tb->right)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    return sclaw_table_add(tb, header);
}

int sclaw_table_add(struct sclaw_table *tb, const char *const *cells)
{
    if (tb->nrows == tb->cap) {
        int64_t cap = tb->cap ? 2 * tb->cap : 16;
        char **c = realloc(tb->cells, (size_t)(cap * tb->ncols) * sizeof *c);
        if (!c)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        tb->cells = c;
        tb->cap = cap;
    }
    for (int64_t i = 0; i < tb->ncols; i++) {
        tb->cells[tb->nrows * tb->ncols + i] = strdup(cells[i] ? cells[i] : "");
        /* a data row whose cell starts like a number is right-aligned */
        if (tb->nrows > 0 && cells[i] && (cells[i][0] == '-' || cells[i][0] == '.' ||
                                          (cells[i][0] >= '0' && cells[i][0] <= '9')))
            tb->right[i] = 1;
    }
    tb->nrows++;
    return SCLAW_OK;
}

void sclaw_table_print(const struct sclaw_table *tb, FILE *fp)
{
    size_t *w = calloc((size_t)tb->ncols, sizeof *w);
    if (!w)
        return;
    for (int64_t r = 0; r < tb->nrows; r++)
        for (int64_t c = 0; c < tb->ncols; c++) {
            size_t l = strlen(tb->cells[r * tb->ncols + c]);
            if (l > w[c])
                w[c] = l;
        }
    for (int64_t r = 0; r < tb->nrows; r++) {
        for (int64_t c = 0; c < tb->ncols; c++) {
            const char *s = tb->cells[r * tb->ncols + c];
            int pad = (int)w[c];
            if (c)
                fputs("  ", fp);
            if (tb->right[c])
                fprintf(fp, "%*s", pad, s);
            else if (c == tb->ncols - 1)
                fputs(s, fp);
            else
                fprintf(fp, "%-*s", pad, s);
        }
        fputc('\n', fp);
        if (r == 0) {
            size_t total = 0;
            for (int64_t c = 0; c < tb->ncols; c++)
                total += w[c] + (c ? 2 : 0);
            for (size_t i = 0; i < total; i++)
                fputc('-', fp);
            fputc('\n', fp);
        }
    }
    free(w);
}

void sclaw_table_free(struct sclaw_table *tb)
{
    if (tb->cells)
        for (int64_t i = 0; i < tb->nrows * tb->ncols; i++)
            free(tb->cells[i]);
    free(tb->cells);
    free(tb->right);
    memset(tb, 0, sizeof *tb);
}
