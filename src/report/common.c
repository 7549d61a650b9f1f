/* common.c - pieces shared by the reports (sclaw_report.h): computed values
 * keyed like the paper table, the comparison, output files, Markdown text. */
#define _POSIX_C_SOURCE 200809L
#include "report_internal.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sclaw_report_result_free(struct sclaw_report_result *r)
{
    free(r->checks);
    for (int64_t i = 0; i < r->n_files; i++)
        free(r->files[i]);
    free(r->files);
    memset(r, 0, sizeof *r);
}

void rep_stage(struct rep *c, int stage, int nstages, const char *what)
{
    if (c->o->progress)
        c->o->progress(stage, nstages, what, c->o->progress_user);
}

int rep_begin(struct rep *c, const struct sclaw_report_opts *o, struct sclaw_report_result *r)
{
    memset(c, 0, sizeof *c);
    memset(r, 0, sizeof *r);
    c->o = o;
    c->r = r;
    c->data_dir = o->data_dir && o->data_dir[0] ? o->data_dir : "data/paper";
    if (!o->out_dir || !o->out_dir[0])
        return sclaw_fail(SCLAW_E_ARG, "report: no output directory given");
    if (mkdir(o->out_dir, 0777) == 0)
        c->made_dir = 1;
    else if (errno != EEXIST)
        return sclaw_fail(SCLAW_E_IO, "cannot create directory '%s': %s", o->out_dir,
                          strerror(errno));
    struct stat sb;
    if (stat(o->out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sclaw_fail(SCLAW_E_IO, "cannot write into '%s': not a directory", o->out_dir);
    c->md = open_memstream(&c->md_buf, &c->md_len);
    if (!c->md)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory starting a report");
    return SCLAW_OK;
}

void rep_end(struct rep *c, int st)
{
    if (st && c->made_dir)
        rmdir(c->o->out_dir); /* fails, as it should, unless empty */
    if (c->md)
        fclose(c->md);
    free(c->md_buf);
    for (int64_t i = 0; i < c->nvals; i++)
        free(c->vals[i].key);
    free(c->vals);
    memset(c, 0, sizeof *c);
}

const char *rep_path(struct rep *c, const char *file)
{
    snprintf(c->pathbuf, sizeof c->pathbuf, "%s/%s", c->data_dir, file);
    return c->pathbuf;
}

int rep_put(struct rep *c, double v, const char *fmt, ...)
{
    char key[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    if (c->nvals == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 64;
        void *p = realloc(c->vals, (size_t)cap * sizeof *c->vals);
        if (!p)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory collecting report values");
        c->vals = p;
        c->cap = cap;
    }
    c->vals[c->nvals].key = strdup(key);
    if (!c->vals[c->nvals].key)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory collecting report values");
    c->vals[c->nvals++].v = v;
    return SCLAW_OK;
}

double rep_get(const struct rep *c, const char *key)
{
    /* the last value put under a key wins */
    for (int64_t i = c->nvals - 1; i >= 0; i--)
        if (!strcmp(c->vals[i].key, key))
            return c->vals[i].v;
    return NAN;
}

int rep_add_file(struct rep *c, const char *path)
{
    struct sclaw_report_result *r = c->r;
    char **f = realloc(r->files, (size_t)(r->n_files + 1) * sizeof *f);
    if (!f)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    r->files = f;
    if (!(f[r->n_files] = strdup(path)))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    r->n_files++;
    return SCLAW_OK;
}

int rep_figure(struct rep *c, const struct sclaw_plot_fig *f, const char *name)
{
    char base[4200], p[4300];
    snprintf(base, sizeof base, "%s/%s", c->o->out_dir, name);
    int st = sclaw_plot_write(f, base);
    if (st)
        return st;
    snprintf(p, sizeof p, "%s.png", base);
    if ((st = rep_add_file(c, p)))
        return st;
    snprintf(p, sizeof p, "%s.svg", base);
    return rep_add_file(c, p);
}

int rep_compare(struct rep *c, const char *prefix, int exclude)
{
    struct sclaw_report_result *r = c->r;
    size_t lp = strlen(prefix);
    r->checks = calloc((size_t)sclaw_paper_nvalues, sizeof *r->checks);
    if (!r->checks)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory comparing with the paper");
    for (int64_t i = 0; i < sclaw_paper_nvalues; i++) {
        const struct sclaw_paper_value *pv = &sclaw_paper_values[i];
        int match = !strncmp(pv->key, prefix, lp);
        if (match == exclude)
            continue;
        struct sclaw_report_check *k = &r->checks[r->n_checks++];
        k->ref = pv;
        k->got = rep_get(c, pv->key);
        k->rel = pv->value != 0 ? fabs(k->got - pv->value) / fabs(pv->value)
                                : fabs(k->got - pv->value);
        k->ok = isfinite(k->got) && pv->rtol >= 0 && k->rel <= pv->rtol * (1 + 1e-12);
        if (!isfinite(k->got))
            r->n_missing++;
        else if (pv->rtol >= 0) {
            r->n_ok += k->ok;
            if (k->rel > r->max_rel)
                r->max_rel = k->rel;
        }
    }
    return SCLAW_OK;
}

void rep_fmt(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "—");
    else if (v == floor(v) && fabs(v) < 1e7)
        snprintf(buf, n, "%.0f", v);
    else if (fabs(v) >= 1e5 || fabs(v) < 1e-3)
        snprintf(buf, n, "%.4e", v);
    else
        snprintf(buf, n, "%.6g", v);
}

void rep_md_comparison(struct rep *c)
{
    const struct sclaw_report_result *r = c->r;
    FILE *md = c->md;
    int64_t judged = 0;
    for (int64_t i = 0; i < r->n_checks; i++)
        judged += r->checks[i].ref->rtol >= 0;
    fprintf(md, "| quantity | spec § | paper | sclaw | rel. diff | tolerance | |\n");
    fprintf(md, "|---|---|---:|---:|---:|---:|---|\n");
    for (int64_t i = 0; i < r->n_checks; i++) {
        const struct sclaw_report_check *k = &r->checks[i];
        char a[48], b[48], d[48], t[48];
        rep_fmt(a, sizeof a, k->ref->value);
        rep_fmt(b, sizeof b, k->got);
        if (isfinite(k->got))
            snprintf(d, sizeof d, "%.2e", k->rel);
        else
            snprintf(d, sizeof d, "—");
        if (k->ref->rtol == 0)
            snprintf(t, sizeof t, "exact");
        else if (k->ref->rtol > 0)
            snprintf(t, sizeof t, "%.0e", k->ref->rtol);
        else
            snprintf(t, sizeof t, "shown only");
        const char *mark = !isfinite(k->got) ? "missing"
                           : k->ref->rtol < 0 ? ""
                           : k->ok ? "ok" : "**differs**";
        fprintf(md, "| ");
        for (const char *w = k->ref->what; *w; w++) /* '*' would start emphasis */
            if (*w == '*')
                fputs("\\*", md);
            else
                fputc(*w, md);
        fprintf(md, " | %s | %s | %s | %s | %s | %s |\n", k->ref->section, a, b, d, t, mark);
    }
    fprintf(md, "\n%lld of %lld judged numbers within tolerance", (long long)r->n_ok,
            (long long)judged);
    if (r->n_missing)
        fprintf(md, ", %lld not computed", (long long)r->n_missing);
    fprintf(md, "; largest relative difference %.3g.\n\n", r->max_rel);
}

int rep_write_md(struct rep *c)
{
    char p[4200];
    if (fflush(c->md) != 0)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory writing the report text");
    snprintf(p, sizeof p, "%s/report.md", c->o->out_dir);
    int st = sclaw_atomic_write(p, c->md_buf, c->md_len);
    if (st)
        return st;
    return rep_add_file(c, p);
}

/* "6e18" for a budget label. */
void rep_budget_name(char *buf, size_t n, double b)
{
    int e = (int)floor(log10(b) + 1e-9);
    snprintf(buf, n, "%.0fe%d", b / pow(10, e), e);
}
