/* plot_axis.c - axis ranges, tick positions and tick labels of report
 * figures (sclaw_plot.h; used by plot.c). Log axes over 2.5 decades or more
 * are labelled at powers of ten; shorter ones at 1-2-5 multiples (or evenly
 * in data units) so that a loss axis from 2.4 to 3.4 still gets labels. */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int sclaw_plot_usable(double v, int log)
{
    return isfinite(v) && (!log || v > 0);
}

/* Plot coordinate of a data value. */
double sclaw_plot_coord(double v, int log)
{
    return log ? log10(v) : v;
}

/* Data range of one axis over all series of a panel, in plot coordinates. */
static void data_range(const struct sclaw_plot_panel *p, int yaxis, double *lo, double *hi)
{
    int xlog = !!(p->flags & SCLAW_PLOT_XLOG), ylog = !!(p->flags & SCLAW_PLOT_YLOG);
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t s = 0; s < p->nseries; s++) {
        const struct sclaw_plot_series *se = &p->series[s];
        for (int64_t i = 0; i < se->n; i++) {
            /* only points that are drawn count: both coordinates usable */
            if (!sclaw_plot_usable(se->x[i], xlog) || !sclaw_plot_usable(se->y[i], ylog))
                continue;
            double v = yaxis ? sclaw_plot_coord(se->y[i], ylog) : sclaw_plot_coord(se->x[i], xlog);
            if (v < *lo)
                *lo = v;
            if (v > *hi)
                *hi = v;
        }
    }
}

static int utf8_len(const char *s)
{
    int n = 0;
    for (; *s; s++) {
        if (*s == '#' && s[1]) { /* PLplot escape: "#u", "#d" take no room, "##" one */
            s++;
            if (*s == '#')
                n++;
            continue;
        }
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

/* Estimated width in mm of a text at char height ch (DejaVu Sans digits are
 * ~0.64 em; PLplot's char height is ~0.8 em under cairo). */
double sclaw_plot_text_mm(const char *s, double ch)
{
    return utf8_len(s) * 0.78 * ch;
}

/* "2.5", "300", "10^19", "3x10^19": a value for a tick label. */
static void fmt_value(char *buf, size_t n, double v, int decimals)
{
    double a = fabs(v);
    if (v == 0 || (a >= 1e-3 && a < 1e5)) {
        if (decimals >= 0)
            snprintf(buf, n, "%.*f", decimals, v);
        else
            snprintf(buf, n, "%.6g", v);
        return;
    }
    int e = (int)floor(log10(a) + 1e-9);
    double m = v / pow(10, e);
    if (fabs(m - 1) < 1e-9)
        snprintf(buf, n, "10#u%d#d", e);
    else if (fabs(m + 1) < 1e-9)
        snprintf(buf, n, "-10#u%d#d", e);
    else
        snprintf(buf, n, "%.3g×10#u%d#d", m, e);
}

static void add_tick(struct axis *a, double pos, int major, const char *label)
{
    if (a->n >= SCLAW_PLOT_MAX_TICKS)
        return;
    struct tick *t = &a->t[a->n++];
    t->pos = pos;
    t->major = major;
    snprintf(t->label, sizeof t->label, "%s", label ? label : "");
}

/* Linear ticks: steps of 1, 2, 2.5 or 5 times a power of ten, about
 * `target` ticks. */
static void linear_ticks(struct axis *a, double lo, double hi, int target)
{
    double raw = (hi - lo) / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    double m = r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10;
    double step = m * mag;
    /* decimals needed to print multiples of step exactly */
    int dec = 0;
    while (dec < 12 && fabs(step * pow(10, dec) - round(step * pow(10, dec))) > 1e-6)
        dec++;
    double big = fmax(fabs(lo), fabs(hi));
    int sci = big >= 1e5 || big < 1e-3;
    for (double k = ceil(lo / step - 1e-9); k <= floor(hi / step + 1e-9); k++) {
        double v = k * step;
        if (fabs(v) < step * 1e-9)
            v = 0;
        char lab[48];
        fmt_value(lab, sizeof lab, v, sci ? -1 : dec);
        add_tick(a, v, 1, lab);
    }
}

/* Log ticks over plot coordinates [lo, hi] = log10 of the data range. */
static void log_ticks(struct axis *a, double lo, double hi)
{
    double span = hi - lo;
    char lab[48];
    if (span >= 2.5) {
        /* powers of ten, every k-th decade so that at most ~8 are labelled */
        int k = (int)ceil(span / 8);
        for (double e = ceil(lo - 1e-9); e <= floor(hi + 1e-9); e++) {
            int major = ((long)e % k) == 0;
            fmt_value(lab, sizeof lab, pow(10, e), -1);
            add_tick(a, e, major, major ? lab : NULL);
        }
        if (k == 1) /* minor ticks at 2..9 x 10^e */
            for (double e = floor(lo) - 1; e <= ceil(hi); e++)
                for (int m = 2; m <= 9; m++) {
                    double p = e + log10(m);
                    if (p >= lo - 1e-9 && p <= hi + 1e-9)
                        add_tick(a, p, 0, NULL);
                }
        return;
    }
    /* under 2.5 decades (two or three powers of ten only): the coarsest mantissa set that gives >= 3 ticks */
    static const int sets[3][10] = {{1, 2, 5, 0}, {1, 2, 3, 4, 5, 6, 8, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 0}};
    for (int s = 0; s < 3; s++) {
        int count = 0;
        for (double e = floor(lo) - 1; e <= ceil(hi); e++)
            for (int j = 0; sets[s][j]; j++) {
                double p = e + log10(sets[s][j]);
                count += p >= lo - 1e-9 && p <= hi + 1e-9;
            }
        if (count < 3)
            continue;
        for (double e = floor(lo) - 1; e <= ceil(hi); e++)
            for (int j = 0; sets[s][j]; j++) {
                double p = e + log10(sets[s][j]);
                if (p >= lo - 1e-9 && p <= hi + 1e-9) {
                    fmt_value(lab, sizeof lab, sets[s][j] * pow(10, e), -1);
                    add_tick(a, p, 1, lab);
                }
            }
        return;
    }
    /* a narrow range: evenly spaced values in data units; a few more than on
     * a linear axis, since their spacing on the page shrinks towards hi */
    struct axis lin = {0};
    linear_ticks(&lin, pow(10, lo), pow(10, hi), 7);
    for (int i = 0; i < lin.n; i++)
        if (lin.t[i].pos > 0)
            add_tick(a, log10(lin.t[i].pos), 1, lin.t[i].label);
}

/* Range (with margin) and ticks of one axis of a panel. */
void sclaw_plot_axis_make(const struct sclaw_plot_panel *p, int yaxis, double ch, struct axis *a)
{
    memset(a, 0, sizeof *a);
    a->log = !!(p->flags & (yaxis ? SCLAW_PLOT_YLOG : SCLAW_PLOT_XLOG));
    const double *lim = yaxis ? p->ylim : p->xlim;
    double lo, hi;
    data_range(p, yaxis, &lo, &hi);
    if (!(lo <= hi)) { /* no usable data */
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) { /* a single value */
        double w = a->log ? 0.3 : (lo != 0 ? fabs(lo) * 0.1 : 1);
        lo -= w;
        hi += w;
    }
    double pad = 0.04 * (hi - lo);
    lo -= pad;
    hi += pad;
    if (sclaw_plot_usable(lim[0], a->log))
        lo = sclaw_plot_coord(lim[0], a->log);
    if (sclaw_plot_usable(lim[1], a->log))
        hi = sclaw_plot_coord(lim[1], a->log);
    if (!(lo < hi)) { /* a fixed limit on the wrong side of the data */
        double c = lo;
        lo = c - 0.5;
        hi = c + 0.5;
    }
    a->lo = lo;
    a->hi = hi;
    if (a->log)
        log_ticks(a, lo, hi);
    else
        linear_ticks(a, lo, hi, 5);
    for (int i = 0; i < a->n; i++)
        a->label_mm = fmax(a->label_mm, sclaw_plot_text_mm(a->t[i].label, ch));
}

/* Drop tick labels that would overlap. Linear ticks are evenly spaced: keep
 * every k-th label. Log ticks are not (2, 5, 10, 20 crowd towards each
 * decade's end): keep labels greedily by roundness - powers of ten first,
 * then 5x, then 2x, then the rest - wherever one fits between the labels
 * already kept. Along x a label takes its estimated width, along y one line. */
void sclaw_plot_axis_thin(struct axis *a, double len_mm, double ch, int yaxis)
{
    int nlab = 0;
    for (int i = 0; i < a->n; i++)
        nlab += a->t[i].label[0] != 0;
    if (nlab < 2)
        return;
    if (!a->log) {
        double need = yaxis ? 1.6 * ch : a->label_mm + 1.5 * ch;
        double have = len_mm / nlab;
        if (have >= need)
            return;
        int keep = (int)ceil(need / have), j = 0;
        for (int i = 0; i < a->n; i++)
            if (a->t[i].label[0] && (j++ % keep) != 0)
                a->t[i].label[0] = 0;
        return;
    }
    char keep[SCLAW_PLOT_MAX_TICKS] = {0};
    double mm_per_unit = len_mm / (a->hi - a->lo);
    for (int level = 0; level < 4; level++)
        for (int i = 0; i < a->n; i++) {
            if (!a->t[i].label[0])
                continue;
            double m = pow(10, a->t[i].pos - floor(a->t[i].pos + 1e-9));
            int prio = fabs(m - 1) < 1e-6 ? 0 : fabs(m - 5) < 1e-6 ? 1 : fabs(m - 2) < 1e-6 ? 2 : 3;
            if (prio != level)
                continue;
            double wi = yaxis ? 1.3 * ch : sclaw_plot_text_mm(a->t[i].label, ch);
            int fits = 1;
            for (int j = 0; j < a->n && fits; j++) {
                if (!keep[j])
                    continue;
                double wj = yaxis ? 1.3 * ch : sclaw_plot_text_mm(a->t[j].label, ch);
                double d = fabs(a->t[i].pos - a->t[j].pos) * mm_per_unit;
                fits = d >= 0.5 * (wi + wj) + (yaxis ? 0.3 : 1.0) * ch;
            }
            keep[i] = (char)fits;
        }
    for (int i = 0; i < a->n; i++)
        if (!keep[i])
            a->t[i].label[0] = 0;
}

