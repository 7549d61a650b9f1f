/* inference.c - `sclaw report inference`: measured time to first token (TTFT)
 * and generation step time against prefill length, with the runtime models
 * of accounting-and-fits.md §3.5 fitted per model (sclaw_runtime.h):
 * TTFT linear_flops (Huber delta 1 ms) on all rows, step time
 * log_linear_memops (delta 100) on rows with batch >= 8, as the paper does
 * for Llama (its xLSTM step fit is degenerate, §3.5; sclaw fits it the same
 * way and reports whether the parameters are identifiable).
 *
 * Figures: rows = model family, columns = three batch sizes (1, 8 and 64 when
 * present), colour = model size (by parameter count), points = measurements,
 * lines = the fitted model at the measured points. Missing measurements
 * (<= 0, out of memory) are not drawn (the reader drops them).
 */
#include "report_internal.h"
#include "sclaw_account.h"
#include "sclaw_arch.h"
#include "sclaw_io.h"
#include "sclaw_runtime.h"
#include "sclaw_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXMODELS 32
#define H100_PEAK 989e12 /* bf16 dense FLOP/s, the reference of plot_fit_params.ipynb */

struct model {
    const struct sclaw_rt_group *gt, *gs;  /* TTFT and step-time points (may be NULL) */
    int fam;                               /* 0 xLSTM, 1 Llama */
    double nparams;
    struct sclaw_rt_fit ft, fs;
    int ok_t, ok_s;
};

struct set {
    struct sclaw_rt_data t[4], s[4];  /* per input file: TTFT and step data */
    int nfiles;
    struct model m[MAXMODELS];
    int nm;
};

static const char *const FAM_NAME[2] = {"xLSTM", "Llama-2"};

static void set_free(struct set *s)
{
    for (int i = 0; i < s->nfiles; i++) {
        sclaw_rt_data_free(&s->t[i]);
        sclaw_rt_data_free(&s->s[i]);
    }
}

static struct model *find_model(struct set *s, const char *tag, const struct sclaw_config *cfg)
{
    for (int i = 0; i < s->nm; i++) {
        const struct sclaw_rt_group *g = s->m[i].gt ? s->m[i].gt : s->m[i].gs;
        if (!strcmp(g->model_tag, tag))
            return &s->m[i];
    }
    if (s->nm == MAXMODELS)
        return NULL;
    struct model *m = &s->m[s->nm++];
    memset(m, 0, sizeof *m);
    m->fam = strcmp(cfg->arch->name, "llama") == 0;
    struct sclaw_params p;
    sclaw_count_params(cfg, &p);
    m->nparams = p.total;
    return m;
}

/* Read each file for both targets; a file without any usable TTFT (or step)
 * row is fine as long as the other target has rows. */
static int read_set(struct set *s, const char *const *paths, int n)
{
    struct sclaw_rt_read_opts ro = {0, NULL};
    for (int i = 0; i < n; i++) {
        int st_t = sclaw_rt_read(&s->t[i], paths[i], SCLAW_RT_TTFT, &ro);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sclaw_errmsg());
        int st_s = sclaw_rt_read(&s->s[i], paths[i], SCLAW_RT_STEPTIME, &ro);
        s->nfiles = i + 1;
        if (st_t && st_s)
            return sclaw_fail(st_t, "%s", msg);
        if (st_t)
            memset(&s->t[i], 0, sizeof s->t[i]);
        if (st_s)
            memset(&s->s[i], 0, sizeof s->s[i]);
        for (int pass = 0; pass < 2; pass++) {
            const struct sclaw_rt_data *d = pass ? &s->s[i] : &s->t[i];
            for (int64_t g = 0; g < d->ngroups; g++) {
                struct model *m = find_model(s, d->groups[g].model_tag, &d->groups[g].config);
                if (!m)
                    return sclaw_fail(SCLAW_E_ARG, "%s: more than %d models", paths[i], MAXMODELS);
                if (pass)
                    m->gs = &d->groups[g];
                else
                    m->gt = &d->groups[g];
            }
        }
    }
    /* order: family, then size */
    for (int i = 1; i < s->nm; i++)
        for (int j = i; j > 0 && (s->m[j].fam < s->m[j - 1].fam ||
                                  (s->m[j].fam == s->m[j - 1].fam && s->m[j].nparams < s->m[j - 1].nparams)); j--) {
            struct model t = s->m[j];
            s->m[j] = s->m[j - 1];
            s->m[j - 1] = t;
        }
    return SCLAW_OK;
}

static void fit_set(struct set *s)
{
    for (int i = 0; i < s->nm; i++) {
        struct model *m = &s->m[i];
        if (m->gt) {
            struct sclaw_rt_fit_opts o = {1.0, {NAN, NAN, NAN, NAN}, 0, 0};
            if (sclaw_rt_fit(m->gt->pts, m->gt->n, &m->gt->config, SCLAW_RT_TTFT,
                             SCLAW_RT_LINEAR_FLOPS, &o, &m->ft))
                sclaw_warn("TTFT fit of '%s': %s", m->gt->model_tag, sclaw_errmsg());
            else
                m->ok_t = 1;
        }
        if (m->gs) {
            /* the paper's step-time fit uses batch >= 8 */
            struct sclaw_rt_point *p = malloc((size_t)(m->gs->n + 1) * sizeof *p);
            int64_t n = 0;
            if (!p)
                continue;
            for (int64_t k = 0; k < m->gs->n; k++)
                if (m->gs->pts[k].batch >= 8)
                    p[n++] = m->gs->pts[k];
            struct sclaw_rt_fit_opts o = {100.0, {NAN, NAN, NAN, NAN}, 0, 0};
            if (n >= 3) {
                if (sclaw_rt_fit(p, n, &m->gs->config, SCLAW_RT_STEPTIME,
                                 SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG, &o, &m->fs))
                    sclaw_warn("step-time fit of '%s': %s", m->gs->model_tag, sclaw_errmsg());
                else
                    m->ok_s = 1;
            }
            free(p);
        }
    }
}

/* The three batch sizes shown: 1, 8 and 64 when all present, else the
 * smallest, a middle and the largest one. */
static int pick_batches(const struct set *s, double *out)
{
    double b[64];
    int n = 0;
    for (int i = 0; i < s->nm; i++)
        for (int pass = 0; pass < 2; pass++) {
            const struct sclaw_rt_group *g = pass ? s->m[i].gs : s->m[i].gt;
            for (int64_t k = 0; g && k < g->n; k++) {
                int j = 0;
                while (j < n && b[j] != g->pts[k].batch)
                    j++;
                if (j == n && n < 64)
                    b[n++] = g->pts[k].batch;
            }
        }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && b[j] < b[j - 1]; j--) {
            double t = b[j];
            b[j] = b[j - 1];
            b[j - 1] = t;
        }
    int has[3] = {0, 0, 0};
    for (int i = 0; i < n; i++)
        has[0] |= b[i] == 1, has[1] |= b[i] == 8, has[2] |= b[i] == 64;
    if (has[0] && has[1] && has[2]) {
        out[0] = 1, out[1] = 8, out[2] = 64;
        return 3;
    }
    if (n <= 3) {
        memcpy(out, b, (size_t)n * sizeof *b);
        return n;
    }
    out[0] = b[0], out[1] = b[n / 2], out[2] = b[n - 1];
    return 3;
}

/* A log y axis spanning at least MIN_SPAN around the measured times [lo, hi]:
 * a step time that is constant in the context (xLSTM) then draws flat, as it
 * is, instead of its 1-2% noise filling the panel. */
#define MIN_SPAN 10.0
static void set_min_span(struct sclaw_plot_panel *p, double lo, double hi)
{
    if (!(lo > 0) || !(hi >= lo) || hi / lo >= MIN_SPAN)
        return;
    double mid = sqrt(lo * hi), half = sqrt(MIN_SPAN);
    p->ylim[0] = mid / half;
    p->ylim[1] = mid * half;
}

/* One figure: target t (0 TTFT, 1 step), rows = families present. */
static int figure(struct rep *c, const struct set *s, int t, const char *name, const char *title)
{
    double B[3];
    int nb = pick_batches(s, B), fams[2], nf = 0;
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < s->nm; i++)
            if (s->m[i].fam == f && (t ? s->m[i].gs : s->m[i].gt)) {
                fams[nf++] = f;
                break;
            }
    if (!nf || !nb)
        return SCLAW_OK; /* nothing to draw for this target */
    struct sclaw_plot_fig fig;
    int st = sclaw_plot_init(&fig, nf, nb, title);
    if (st)
        return st;
    int64_t cap = 16;
    for (int i = 0; i < s->nm; i++) {
        const struct sclaw_rt_group *g = t ? s->m[i].gs : s->m[i].gt;
        if (g && g->n + 1 > cap)
            cap = g->n + 1;
    }
    double *x = malloc((size_t)cap * sizeof *x), *y = malloc((size_t)cap * sizeof *y),
           *yp = malloc((size_t)cap * sizeof *yp);
    if (!x || !y || !yp) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int r = 0; r < nf; r++) {
        int nsz = 0;
        for (int i = 0; i < s->nm; i++)
            nsz += s->m[i].fam == fams[r];
        for (int col = 0; col < nb; col++) {
            struct sclaw_plot_panel *pn = sclaw_plot_panel(&fig, r, col);
            char ptitle[96];
            snprintf(ptitle, sizeof ptitle, "%s, batch %.0f", FAM_NAME[fams[r]], B[col]);
            sclaw_plot_labels(pn, ptitle, r == nf - 1 ? "prefill length [tokens]" : NULL,
                              col == 0 ? (t ? "step time [ms]" : "time to first token [ms]") : NULL);
            pn->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
            pn->legend = col == nb - 1 ? SCLAW_LEGEND_OUTSIDE_RIGHT : SCLAW_LEGEND_NONE;
            int k = 0;
            double lo = INFINITY, hi = 0; /* measured times of the panel */
            for (int i = 0; i < s->nm; i++) {
                const struct model *m = &s->m[i];
                if (m->fam != fams[r])
                    continue;
                uint32_t color = sclaw_plot_ramp(nsz > 1 ? (double)k / (nsz - 1) : 0);
                k++;
                const struct sclaw_rt_group *g = t ? m->gs : m->gt;
                int64_t n = 0;
                /* the points of this batch size, by prefill */
                for (int64_t q = 0; g && q < g->n; q++)
                    if (g->pts[q].batch == B[col]) {
                        x[n] = g->pts[q].prefill;
                        y[n] = g->pts[q].meas_ms;
                        if (y[n] > 0) {
                            lo = fmin(lo, y[n]);
                            hi = fmax(hi, y[n]);
                        }
                        int ok = t ? m->ok_s : m->ok_t;
                        const struct sclaw_rt_params *pp = t ? &m->fs.p : &m->ft.p;
                        int mode = t ? (SCLAW_RT_LINEAR_MEMOPS | SCLAW_RT_LOG) : SCLAW_RT_LINEAR_FLOPS;
                        yp[n++] = ok ? sclaw_rt_predict_ms(mode, pp, &g->pts[q]) : NAN;
                    }
                for (int64_t a = 1; a < n; a++) /* insertion sort by prefill */
                    for (int64_t b = a; b > 0 && x[b] < x[b - 1]; b--) {
                        double tx = x[b], ty = y[b], tp = yp[b];
                        x[b] = x[b - 1], y[b] = y[b - 1], yp[b] = yp[b - 1];
                        x[b - 1] = tx, y[b - 1] = ty, yp[b - 1] = tp;
                    }
                const struct sclaw_rt_group *lg = m->gt ? m->gt : m->gs;
                struct sclaw_plot_style sty = {color, SCLAW_MARK_CIRCLE, SCLAW_LINE_NONE, 0, 0.8};
                if ((st = sclaw_plot_add(pn, lg->model_tag, x, y, n, &sty)) ||
                    (st = sclaw_plot_line(pn, NULL, x, yp, n, color, SCLAW_LINE_SOLID)))
                    goto done;
            }
            set_min_span(pn, lo, hi);
        }
    }
    st = rep_figure(c, &fig, name);
done:
    free(x);
    free(y);
    free(yp);
    sclaw_plot_free(&fig);
    return st;
}

static void md_fits(struct rep *c, const struct set *s)
{
    FILE *md = c->md;
    fprintf(md, "| model | params | TTFT points | alpha_eff [TFLOP/s] | of H100 peak | eps [ms] | "
                "rel. RMS | step points (B>=8) | beta [GB/s] | eps [ms] | eps_bp [us] | rel. RMS | "
                "notes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < s->nm; i++) {
        const struct model *m = &s->m[i];
        const struct sclaw_rt_group *g = m->gt ? m->gt : m->gs;
        fprintf(md, "| %s | %.3g |", g->model_tag, m->nparams);
        if (m->ok_t)
            fprintf(md, " %lld | %.1f | %.1f%% | %.3f | %.3f |", (long long)m->ft.n_points,
                    m->ft.p.alpha / 1e12, 100 * m->ft.p.alpha / H100_PEAK, m->ft.p.eps * 1e3,
                    m->ft.rms_rel);
        else
            fprintf(md, " — | — | — | — | — |");
        if (m->ok_s)
            fprintf(md, " %lld | %.1f | %.3f | %.2f | %.3f |", (long long)m->fs.n_points,
                    m->fs.p.beta / 1e9, m->fs.p.eps * 1e3, m->fs.p.eps_bp * 1e6, m->fs.rms_rel);
        else
            fprintf(md, " — | — | — | — | — |");
        const char *notes[4];
        int nn = 0;
        if (m->ok_t && !m->ft.converged)
            notes[nn++] = "TTFT fit not converged";
        if (m->ok_s && !m->fs.converged)
            notes[nn++] = "step fit not converged";
        if (m->ok_s && !m->fs.identifiable)
            notes[nn++] = "step parameters not identifiable";
        for (int k = 0; k < nn; k++)
            fprintf(md, "%s%s", k ? "; " : " ", notes[k]);
        fprintf(md, " |\n");
    }
    fprintf(md, "\n");
}

static int put_paper_keys(struct rep *c, const struct set *s)
{
    int st;
    for (int i = 0; i < s->nm; i++) {
        const struct model *m = &s->m[i];
        const struct sclaw_rt_group *g = m->gt ? m->gt : m->gs;
        if (m->ok_t && ((st = rep_put(c, m->ft.p.alpha, "infer.ttft.%s.alpha", g->model_tag)) ||
                        (st = rep_put(c, m->ft.p.eps, "infer.ttft.%s.eps", g->model_tag))))
            return st;
        if (m->ok_s && m->fam == 1 &&
            ((st = rep_put(c, m->fs.p.beta, "infer.step.%s.beta", g->model_tag)) ||
             (st = rep_put(c, m->fs.p.eps_bp, "infer.step.%s.eps_bp", g->model_tag))))
            return st;
    }
    return SCLAW_OK;
}

/* The fitted hardware constants against model size, sclaw's next to the
 * paper's (§3.5): TTFT alpha_eff as a fraction of the H100 peak for both
 * families, and the Llama step-time bandwidth beta. */
static int fig_params(struct rep *c, const struct set *s)
{
    struct sclaw_plot_fig f;
    int st = sclaw_plot_init(&f, 1, 2, "Fitted runtime-model constants: sclaw (filled) and the paper (open)");
    if (st)
        return st;
    struct sclaw_plot_panel *pa = sclaw_plot_panel(&f, 0, 0), *pb = sclaw_plot_panel(&f, 0, 1);
    sclaw_plot_labels(pa, "TTFT: attainable FLOP/s", "parameters", "alpha_eff / H100 bf16 peak [%]");
    sclaw_plot_labels(pb, "Llama-2 step time: attainable bandwidth", "parameters", "beta [GB/s]");
    pa->flags = pb->flags = SCLAW_PLOT_XLOG;
    pa->legend = pb->legend = SCLAW_LEGEND_TOP_LEFT;
    for (int fam = 0; fam < 2; fam++) {
        double n[MAXMODELS], mine[MAXMODELS], ref[MAXMODELS], bmine[MAXMODELS], bref[MAXMODELS];
        int k = 0;
        for (int i = 0; i < s->nm; i++) {
            const struct model *m = &s->m[i];
            if (m->fam != fam)
                continue;
            const struct sclaw_rt_group *g = m->gt ? m->gt : m->gs;
            char key[128];
            n[k] = m->nparams;
            mine[k] = m->ok_t ? 100 * m->ft.p.alpha / H100_PEAK : NAN;
            snprintf(key, sizeof key, "infer.ttft.%s.alpha", g->model_tag);
            const struct sclaw_paper_value *pv = sclaw_paper_value(key);
            ref[k] = pv ? 100 * pv->value / H100_PEAK : NAN;
            bmine[k] = m->ok_s ? m->fs.p.beta / 1e9 : NAN;
            snprintf(key, sizeof key, "infer.step.%s.beta", g->model_tag);
            pv = sclaw_paper_value(key);
            bref[k++] = pv ? pv->value / 1e9 : NAN;
        }
        uint32_t col = sclaw_plot_color(fam);
        char lab[64];
        snprintf(lab, sizeof lab, "%s, sclaw", FAM_NAME[fam]);
        struct sclaw_plot_style own = {col, fam ? SCLAW_MARK_SQUARE : SCLAW_MARK_CIRCLE, SCLAW_LINE_SOLID, 0, 0};
        struct sclaw_plot_style theirs = {col, SCLAW_MARK_OPEN_CIRCLE, SCLAW_LINE_DOTTED, 0, 1.2};
        if ((st = sclaw_plot_add(pa, lab, n, mine, k, &own)))
            goto done;
        snprintf(lab, sizeof lab, "%s, paper", FAM_NAME[fam]);
        if ((st = sclaw_plot_add(pa, lab, n, ref, k, &theirs)))
            goto done;
        if (fam == 1) { /* the paper fits step time for Llama only */
            if ((st = sclaw_plot_add(pb, "Llama-2, sclaw", n, bmine, k, &own)) ||
                (st = sclaw_plot_add(pb, "Llama-2, paper", n, bref, k, &theirs)))
                goto done;
        }
    }
    st = rep_figure(c, &f, "fit_params");
    if (!st)
        fprintf(c->md, "![fitted constants](fit_params.png)\n\n*Fitted attainable FLOP/s of the "
                       "TTFT model as a share of the H100 bf16 peak (989 TFLOP/s) and the Llama "
                       "step-time bandwidth against model size; sclaw's fits on the plain data "
                       "(filled) next to the paper's on a bootstrap resample (open).*\n\n");
done:
    sclaw_plot_free(&f);
    return st;
}

/* Figures, fit table and (for the paper's data) values of one set of files. */
static int do_set(struct rep *c, const char *const *paths, int n, const char *tag, int paper)
{
    struct set *s = calloc(1, sizeof *s);
    if (!s)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    int st = read_set(s, paths, n);
    if (st)
        goto done;
    fit_set(s);
    char name[256], title[300];
    const char *label = paper ? "paper (H100)" : tag;
    fprintf(c->md, "## %s\n\nData: ", paper ? "Paper measurements" : tag);
    for (int i = 0; i < n; i++)
        fprintf(c->md, "%s`%s`", i ? ", " : "", paths[i]);
    fprintf(c->md, ".\n\n");
    md_fits(c, s);
    snprintf(name, sizeof name, "ttft%s%s", paper ? "" : "_", paper ? "" : tag);
    snprintf(title, sizeof title, "Time to first token, %s: measured (points), linear_flops fit", label);
    if ((st = figure(c, s, 0, name, title)))
        goto done;
    fprintf(c->md, "![TTFT](%s.png)\n\n*TTFT against prefill length; colour = model size; lines: "
                   "t = F/alpha + eps fitted per model; a line stops where a negative fitted eps "
                   "makes the predicted time <= 0.*\n\n", name);
    snprintf(name, sizeof name, "steptime%s%s", paper ? "" : "_", paper ? "" : tag);
    snprintf(title, sizeof title, "Step time, %s: measured (points), log_linear_memops fit", label);
    if ((st = figure(c, s, 1, name, title)))
        goto done;
    fprintf(c->md, "![step time](%s.png)\n\n*Step time against prefill length; lines: t = M/beta + "
                   "eps + B eps_bp fitted in log time on batch >= 8 (drawn for every batch).*\n\n", name);
    if (paper && !(st = put_paper_keys(c, s)))
        st = fig_params(c, s);
done:
    set_free(s);
    free(s);
    return st;
}

/* A short name for an extra file: its base name without extension, reduced
 * to [A-Za-z0-9_-]. */
static void file_tag(char *buf, size_t n, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t k = 0;
    for (; *b && *b != '.' && k + 1 < n; b++)
        buf[k++] = (char)((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
                                  (*b >= '0' && *b <= '9') || *b == '-' ? *b : '_');
    buf[k] = 0;
    if (!k)
        snprintf(buf, n, "extra");
}

int sclaw_report_inference(const struct sclaw_report_opts *o, struct sclaw_report_result *r)
{
    struct rep c;
    int st = rep_begin(&c, o, r);
    if (st)
        goto done;
    fprintf(c.md, "# Inference time: measurements and runtime models\n\n"
                  "Generated by `sclaw report inference`. Runtime models of spec §3.5 "
                  "(`shared/spec/accounting-and-fits.md`): TTFT = F/alpha + eps with the exact "
                  "inference FLOPs F of each (batch, prefill), fitted per model with the paper's "
                  "objective 0.5 sum huber(pred - meas)^2 (delta 1 ms); step time = M/beta + eps + "
                  "B eps_bp with the memory bytes M, fitted in log time (delta 100) on batch >= 8. "
                  "The paper fitted a bootstrap resample of its data (quirk §10.9); sclaw fits the "
                  "plain data. Measurements <= 0 (not run, out of memory) are missing.\n\n");
    char px[4200], pl[4200];
    snprintf(px, sizeof px, "%s", rep_path(&c, "inference_xlstm.csv"));
    snprintf(pl, sizeof pl, "%s", rep_path(&c, "inference_llama2.csv"));
    const char *paths[2] = {px, pl};
    if ((st = do_set(&c, paths, 2, "paper", 1)))
        goto done;
    for (int64_t i = 0; i < o->n_extra; i++) {
        char tag[64], other[64];
        file_tag(tag, sizeof tag, o->extra[i]);
        /* two files with the same base name must not share figure names */
        for (int64_t j = 0; j < i; j++) {
            file_tag(other, sizeof other, o->extra[j]);
            if (!strcmp(other, tag)) {
                size_t l = strlen(tag);
                snprintf(tag + (l < 48 ? l : 48), sizeof tag - (l < 48 ? l : 48), "_%lld", (long long)i + 1);
                break;
            }
        }
        if ((st = do_set(&c, &o->extra[i], 1, tag, 0)))
            goto done;
    }
    if ((st = rep_compare(&c, "infer.", 0)))
        goto done;
    fprintf(c.md, "## Comparison with the paper (§3.5)\n\n");
    rep_md_comparison(&c);
    st = rep_write_md(&c);
done:
    rep_end(&c, st);
    if (st)
        sclaw_report_result_free(r);
    return st;
}
