/* plot.c - report figures with PLplot's cairo drivers (sclaw_plot.h).
 *
 * The figure is a plain in-memory description; sclaw_plot_write renders it
 * twice (pngcairo, svgcairo) into temporary files from the atomic writer,
 * checks both are complete and renames them onto the targets.
 *
 * We draw the axes ourselves (frame, ticks, tick labels and grid; ticks and
 * labels come from plot_axis.c) instead of using plbox: plbox labels log axes
 * only at powers of ten, which leaves a loss axis spanning 2.4..3.4 without a
 * single label, and its label format cannot be chosen per axis.
 *
 * PLplot pitfalls handled here:
 *  - plexit() calls exit() after the handler returns, so the handler installed
 *    with plsexit longjmps back into render(), which then ends the stream;
 *  - plabort() prints to stderr unless a per-stream error buffer is set with
 *    plsError;
 *  - plOpenFile() retries and prints when it cannot open a file name, so we
 *    never give PLplot a name: it gets an already open FILE (plsfile), a dup of
 *    the atomic writer's descriptor, which PLplot closes itself in plend1;
 *  - the cairo drivers ignore the DPI of plspage and use 72 dpi, so sizes of
 *    text are set in mm for a page of width * 25.4/72 mm.
 */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_plot.h"
#include "sclaw_io.h"
#include "sclaw_status.h"
#include "plot_internal.h"

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIM 8            /* panels per row / column */
#define MM_PER_PX (25.4 / 72.0)  /* cairo drivers: 72 device units per inch */
#define CHAR_MM 3.6          /* text height (mm of a 72-dpi page), ~10 px */

/* cmap0 slots: fixed colours first, then one slot per series of the figure. */
enum { COL_BG = 0, COL_FG = 1, COL_GRID = 2, COL_TICK = 3, COL_SERIES = 4 };

/* ------------------------------------------------------------------------ */
/* Building a figure                                                         */
/* ------------------------------------------------------------------------ */

static int dup_str(char **dst, const char *s)
{
    char *c = NULL;
    if (s && !(c = strdup(s)))
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory copying plot text");
    free(*dst);
    *dst = c;
    return SCLAW_OK;
}

int sclaw_plot_init(struct sclaw_plot_fig *f, int64_t nrows, int64_t ncols, const char *title)
{
    memset(f, 0, sizeof *f);
    if (nrows < 1 || ncols < 1 || nrows > MAX_DIM || ncols > MAX_DIM)
        return sclaw_fail(SCLAW_E_ARG, "figure of %lld x %lld panels: each must be 1..%d",
                          (long long)nrows, (long long)ncols, MAX_DIM);
    f->panels = calloc((size_t)(nrows * ncols), sizeof *f->panels);
    if (!f->panels)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory allocating a figure");
    f->nrows = nrows;
    f->ncols = ncols;
    f->width = 560 * ncols;
    f->height = 420 * nrows + (title ? 40 : 0);
    for (int64_t i = 0; i < nrows * ncols; i++) {
        struct sclaw_plot_panel *p = &f->panels[i];
        p->xlim[0] = p->xlim[1] = p->ylim[0] = p->ylim[1] = NAN;
        p->legend = SCLAW_LEGEND_TOP_RIGHT;
        p->legend_cols = 1;
    }
    int st = dup_str(&f->title, title);
    if (st)
        sclaw_plot_free(f);
    return st;
}

void sclaw_plot_free(struct sclaw_plot_fig *f)
{
    if (f->panels) {
        for (int64_t i = 0; i < f->nrows * f->ncols; i++) {
            struct sclaw_plot_panel *p = &f->panels[i];
            for (int64_t s = 0; s < p->nseries; s++) {
                free(p->series[s].label);
                free(p->series[s].x);
                free(p->series[s].y);
            }
            free(p->series);
            free(p->title);
            free(p->xlabel);
            free(p->ylabel);
        }
    }
    free(f->panels);
    free(f->title);
    memset(f, 0, sizeof *f);
}

struct sclaw_plot_panel *sclaw_plot_panel(struct sclaw_plot_fig *f, int64_t row, int64_t col)
{
    SCLAW_ASSERT(row >= 0 && row < f->nrows && col >= 0 && col < f->ncols);
    return &f->panels[row * f->ncols + col];
}

int sclaw_plot_labels(struct sclaw_plot_panel *p, const char *title, const char *xlabel,
                      const char *ylabel)
{
    int st;
    if ((title && (st = dup_str(&p->title, title))) ||
        (xlabel && (st = dup_str(&p->xlabel, xlabel))) ||
        (ylabel && (st = dup_str(&p->ylabel, ylabel))))
        return st;
    return SCLAW_OK;
}

int sclaw_plot_add(struct sclaw_plot_panel *p, const char *label, const double *x,
                   const double *y, int64_t n, const struct sclaw_plot_style *style)
{
    if (n < 0)
        return sclaw_fail(SCLAW_E_ARG, "plot series '%s': negative length %lld",
                          label ? label : "", (long long)n);
    if (style->marker < 0 || style->marker >= SCLAW_MARK_COUNT || style->line < 0 ||
        style->line >= SCLAW_LINE_COUNT)
        return sclaw_fail(SCLAW_E_ARG, "plot series '%s': unknown marker %d or line style %d",
                          label ? label : "", style->marker, style->line);
    if (p->nseries == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 8;
        void *s = realloc(p->series, (size_t)cap * sizeof *p->series);
        if (!s)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory adding a plot series");
        p->series = s;
        p->cap = cap;
    }
    struct sclaw_plot_series s = {0};
    s.style = *style;
    s.n = n;
    size_t bytes = (size_t)(n ? n : 1) * sizeof(double);
    s.x = malloc(bytes);
    s.y = malloc(bytes);
    if (!s.x || !s.y || dup_str(&s.label, label)) {
        free(s.x);
        free(s.y);
        free(s.label);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory adding a plot series");
    }
    if (n) {
        memcpy(s.x, x, (size_t)n * sizeof(double));
        memcpy(s.y, y, (size_t)n * sizeof(double));
    }
    p->series[p->nseries++] = s;
    return SCLAW_OK;
}

int sclaw_plot_scatter(struct sclaw_plot_panel *p, const char *label, const double *x,
                       const double *y, int64_t n, uint32_t color, int marker)
{
    struct sclaw_plot_style st = {color, marker, SCLAW_LINE_NONE, 0, 0};
    return sclaw_plot_add(p, label, x, y, n, &st);
}

int sclaw_plot_line(struct sclaw_plot_panel *p, const char *label, const double *x,
                    const double *y, int64_t n, uint32_t color, int line)
{
    struct sclaw_plot_style st = {color, SCLAW_MARK_NONE, line, 0, 0};
    return sclaw_plot_add(p, label, x, y, n, &st);
}

uint32_t sclaw_plot_color(int64_t i)
{
    /* Tableau-10: distinguishable, and readable on white */
    static const uint32_t pal[10] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    return pal[((i % 10) + 10) % 10];
}

uint32_t sclaw_plot_ramp(double t)
{
    /* piecewise-linear through five viridis-like stops; the yellow end is
     * darkened so that the lightest colour still reads on white */
    static const double stops[5][3] = {{68, 1, 84},
                                       {59, 82, 139},
                                       {33, 145, 140},
                                       {94, 201, 98},
                                       {200, 190, 20}};
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    double u = t * 4;
    int k = u >= 4 ? 3 : (int)u;
    double w = u - k;
    uint32_t rgb = 0;
    for (int c = 0; c < 3; c++) {
        double v = stops[k][c] * (1 - w) + stops[k + 1][c] * w;
        rgb = (rgb << 8) | (uint32_t)lround(v);
    }
    return rgb;
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const marker_glyph[SCLAW_MARK_COUNT] = {
    "", "●", "■", "▲", "◆", "▼", "★", "○", "✖",
};
/* PLplot line style numbers (pllsty) */
static const int line_style[SCLAW_LINE_COUNT] = {1, 1, 3, 2};

struct layout {
    double vx0, vx1, vy0, vy1;  /* viewport in normalized device coordinates */
    struct axis ax, ay;
    double legend_mm;           /* width reserved for an outside legend */
    double legend_label_mm;
};

/* Widest legend label of a panel, and whether the panel shows a legend. */
static int legend_entries(const struct sclaw_plot_panel *p, double ch, double *w)
{
    int n = 0;
    *w = 0;
    for (int64_t s = 0; s < p->nseries; s++)
        if (p->series[s].label && p->series[s].label[0]) {
            n++;
            *w = fmax(*w, sclaw_plot_text_mm(p->series[s].label, ch));
        }
    return p->legend != SCLAW_LEGEND_NONE ? n : 0;
}

static void set_color(PLINT idx, uint32_t rgb)
{
    plscol0(idx, (PLINT)((rgb >> 16) & 255), (PLINT)((rgb >> 8) & 255), (PLINT)(rgb & 255));
}

static void draw_axes(const struct layout *L, double vw_mm, double vh_mm)
{
    const struct axis *ax = &L->ax, *ay = &L->ay;
    /* tick lengths in world units: 1.2 mm major, 0.7 mm minor, same on both axes */
    double tx = (ay->hi - ay->lo) / vh_mm, ty = (ax->hi - ax->lo) / vw_mm;
    pllsty(1);
    /* grid at labelled-axis major ticks */
    plcol0(COL_GRID);
    plwidth(0.6);
    for (int i = 0; i < ax->n; i++)
        if (ax->t[i].major)
            pljoin(ax->t[i].pos, ay->lo, ax->t[i].pos, ay->hi);
    for (int i = 0; i < ay->n; i++)
        if (ay->t[i].major)
            pljoin(ax->lo, ay->t[i].pos, ax->hi, ay->t[i].pos);
    plcol0(COL_FG);
    plwidth(1.0);
    for (int i = 0; i < ax->n; i++) {
        double len = (ax->t[i].major ? 1.4 : 0.8) * tx;
        pljoin(ax->t[i].pos, ay->lo, ax->t[i].pos, ay->lo + len);
        pljoin(ax->t[i].pos, ay->hi, ax->t[i].pos, ay->hi - len);
        if (ax->t[i].label[0])
            plmtex("b", 1.5, (ax->t[i].pos - ax->lo) / (ax->hi - ax->lo), 0.5, ax->t[i].label);
    }
    for (int i = 0; i < ay->n; i++) {
        double len = (ay->t[i].major ? 1.4 : 0.8) * ty;
        pljoin(ax->lo, ay->t[i].pos, ax->lo + len, ay->t[i].pos);
        pljoin(ax->hi, ay->t[i].pos, ax->hi - len, ay->t[i].pos);
        if (ay->t[i].label[0])
            plmtex("lv", 0.6, (ay->t[i].pos - ay->lo) / (ay->hi - ay->lo), 1.0, ay->t[i].label);
    }
}

/* Returns 0, or -1 if out of memory (nothing drawn). */
static int draw_series(const struct sclaw_plot_series *s, PLINT col, int xlog, int ylog)
{
    if (s->n == 0)
        return 0;
    int rc = 0;
    PLFLT *x = malloc((size_t)s->n * sizeof *x), *y = malloc((size_t)s->n * sizeof *y);
    if (!x || !y) {
        rc = -1;
        goto done;
    }
    plcol0(col);
    if (s->style.line != SCLAW_LINE_NONE) {
        pllsty(line_style[s->style.line]);
        plwidth(s->style.width > 0 ? s->style.width : 1.5);
        /* runs of consecutive usable points; a bad point ends a run */
        int64_t m = 0;
        for (int64_t i = 0; i <= s->n; i++) {
            if (i < s->n && sclaw_plot_usable(s->x[i], xlog) && sclaw_plot_usable(s->y[i], ylog)) {
                x[m] = sclaw_plot_coord(s->x[i], xlog);
                y[m] = sclaw_plot_coord(s->y[i], ylog);
                m++;
                continue;
            }
            if (m > 1)
                plline((PLINT)m, x, y);
            m = 0;
        }
        pllsty(1);
    }
    if (s->style.marker != SCLAW_MARK_NONE) {
        int64_t m = 0;
        for (int64_t i = 0; i < s->n; i++)
            if (sclaw_plot_usable(s->x[i], xlog) && sclaw_plot_usable(s->y[i], ylog)) {
                x[m] = sclaw_plot_coord(s->x[i], xlog);
                y[m] = sclaw_plot_coord(s->y[i], ylog);
                m++;
            }
        double def, ht;
        plgchr(&def, &ht);
        plschr(0, 0.9 * (s->style.size > 0 ? s->style.size : 1.0));
        if (m)
            plstring((PLINT)m, x, y, marker_glyph[s->style.marker]);
        plschr(def, 1.0);
    }
done:
    free(x);
    free(y);
    return rc;
}

static void draw_legend(const struct sclaw_plot_panel *p, const PLINT *cols, double ch,
                        double vw_mm, double vh_mm)
{
    int n = 0;
    PLINT opt[256], tcol[256], lcol[256], lsty[256], scol[256], snum[256];
    PLFLT lwid[256], sscale[256];
    const char *text[256], *sym[256];
    for (int64_t s = 0; s < p->nseries && n < 256; s++) {
        const struct sclaw_plot_series *se = &p->series[s];
        if (!se->label || !se->label[0])
            continue;
        opt[n] = (se->style.line ? PL_LEGEND_LINE : 0) | (se->style.marker ? PL_LEGEND_SYMBOL : 0);
        if (!opt[n])
            opt[n] = PL_LEGEND_NONE;
        tcol[n] = COL_FG;
        lcol[n] = scol[n] = cols[s];
        lsty[n] = line_style[se->style.line];
        lwid[n] = se->style.width > 0 ? se->style.width : 1.5;
        sscale[n] = 0.9 * (se->style.size > 0 ? se->style.size : 1.0);
        snum[n] = 1;
        sym[n] = marker_glyph[se->style.marker];
        text[n] = se->label;
        n++;
    }
    if (!n)
        return;
    int ncol = p->legend_cols > 0 ? p->legend_cols : 1;
    if (ncol > n)
        ncol = n;
    int nrow = (n + ncol - 1) / ncol;
    PLINT pos = PL_POSITION_VIEWPORT;
    double xoff = 1.2 * ch / vw_mm, yoff = 1.2 * ch / vh_mm;
    switch (p->legend) {
    case SCLAW_LEGEND_TOP_LEFT: pos |= PL_POSITION_INSIDE | PL_POSITION_TOP | PL_POSITION_LEFT; break;
    case SCLAW_LEGEND_BOTTOM_LEFT: pos |= PL_POSITION_INSIDE | PL_POSITION_BOTTOM | PL_POSITION_LEFT; break;
    case SCLAW_LEGEND_BOTTOM_RIGHT: pos |= PL_POSITION_INSIDE | PL_POSITION_BOTTOM | PL_POSITION_RIGHT; break;
    case SCLAW_LEGEND_OUTSIDE_RIGHT:
        /* RIGHT alone: beside the axes, centred vertically (RIGHT|TOP
         * would put it beyond the top-right corner) */
        pos |= PL_POSITION_OUTSIDE | PL_POSITION_RIGHT;
        yoff = 0;
        break;
    default: pos |= PL_POSITION_INSIDE | PL_POSITION_TOP | PL_POSITION_RIGHT; break;
    }
    PLFLT w, h;
    plcol0(COL_FG);
    plwidth(1.0);
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX | PL_LEGEND_ROW_MAJOR, pos,
             xoff, yoff, 3.5 * ch / vw_mm, COL_BG, COL_TICK, 1, nrow, ncol, n, opt, 0.6, 0.9, 2.0,
             0.0, tcol, text, NULL, NULL, NULL, NULL, lcol, lsty, lwid, scol, sscale, snum, sym);
}

/* Draw the whole figure on the current stream (after plinit). Returns 0, or
 * -1 if a series could not be drawn for lack of memory. */
static int draw_figure(const struct sclaw_plot_fig *f)
{
    int rc = 0;
    double pw = f->width * MM_PER_PX, ph = f->height * MM_PER_PX; /* page in mm */
    double ch = CHAR_MM;
    int64_t np = f->nrows * f->ncols;
    PLINT next = COL_SERIES;

    pladv(0);
    plschr(ch, 1.0);
    double title_mm = f->title ? 2.8 * ch : 0.6 * ch;
    if (f->title) {
        plvpor(0, 1, 0, 1);
        plwind(0, 1, 0, 1);
        plcol0(COL_FG);
        /* 1.2x text, shrunk (to 0.7x at most) where a long title on a
         * narrow figure would run off both edges */
        double scale = 1.2, w = scale * sclaw_plot_text_mm(f->title, ch);
        if (w > 0.96 * pw)
            scale = fmax(0.7, scale * 0.96 * pw / w);
        plschr(ch, scale);
        plmtex("t", -1.6, 0.5, 0.5, f->title);
        plschr(ch, 1.0);
    }
    double cell_w = 1.0 / f->ncols, cell_h = (1.0 - title_mm / ph) / f->nrows;
    for (int64_t k = 0; k < np; k++) {
        const struct sclaw_plot_panel *p = &f->panels[k];
        int64_t r = k / f->ncols, c = k % f->ncols;
        struct layout L;
        memset(&L, 0, sizeof L);
        sclaw_plot_axis_make(p, 0, ch, &L.ax);
        sclaw_plot_axis_make(p, 1, ch, &L.ay);
        double lw;
        int nleg = legend_entries(p, ch, &lw);
        double right_mm = 1.5 * ch;
        if (nleg && p->legend == SCLAW_LEGEND_OUTSIDE_RIGHT) {
            int ncol = p->legend_cols > 0 ? p->legend_cols : 1;
            /* pllegend's width, measured on labels of 7 to 28 characters:
             * about 8 ch (sample and padding) + 0.75 of our estimate of the
             * widest label, +-2 ch with the glyphs; we take a little more,
             * then the 1.2 ch offset from the axes and 1 ch to the edge */
            right_mm = 1.0 * ch + 1.2 * ch + ncol * (8.5 * ch + 0.85 * lw);
        }
        double left_mm = 0.6 * ch + L.ay.label_mm + (p->ylabel ? 2.9 * ch : 0.8 * ch);
        double bottom_mm = p->xlabel ? 4.4 * ch : 2.8 * ch;
        double top_mm = p->title ? 2.4 * ch : 1.0 * ch;
        double x0 = c * cell_w, y1 = 1.0 - title_mm / ph - r * cell_h;
        L.vx0 = x0 + left_mm / pw;
        L.vx1 = x0 + cell_w - right_mm / pw;
        L.vy1 = y1 - top_mm / ph;
        L.vy0 = y1 - cell_h + bottom_mm / ph;
        if (L.vx1 - L.vx0 < 0.05)
            L.vx1 = L.vx0 + 0.05;
        if (L.vy1 - L.vy0 < 0.05)
            L.vy0 = L.vy1 - 0.05;
        double vw_mm = (L.vx1 - L.vx0) * pw, vh_mm = (L.vy1 - L.vy0) * ph;
        sclaw_plot_axis_thin(&L.ax, vw_mm, ch, 0);
        sclaw_plot_axis_thin(&L.ay, vh_mm, ch, 1);

        plvpor(L.vx0, L.vx1, L.vy0, L.vy1);
        plwind(L.ax.lo, L.ax.hi, L.ay.lo, L.ay.hi);
        draw_axes(&L, vw_mm, vh_mm);

        PLINT cols[256];
        int xlog = !!(p->flags & SCLAW_PLOT_XLOG), ylog = !!(p->flags & SCLAW_PLOT_YLOG);
        for (int64_t s = 0; s < p->nseries; s++) {
            cols[s < 256 ? s : 255] = next;
            if (draw_series(&p->series[s], next, xlog, ylog))
                rc = -1;
            next++;
        }
        /* frame on top of the data */
        plcol0(COL_FG);
        plwidth(1.0);
        pllsty(1);
        plbox("bc", 0, 0, "bc", 0, 0);
        if (p->title)
            plmtex("t", 0.9, 0.5, 0.5, p->title);
        if (p->xlabel)
            plmtex("b", 3.1, 0.5, 0.5, p->xlabel);
        if (p->ylabel)
            plmtex("l", 0.6 + L.ay.label_mm / ch + 1.4, 0.5, 0.5, p->ylabel);
        if (nleg)
            draw_legend(p, cols, ch, vw_mm, vh_mm);
    }
    return rc;
}

/* LeakSanitizer hook (only consulted in `make SANITIZE=1` builds; an unused
 * function otherwise). Cairo finds fonts through pango and fontconfig, and
 * fontconfig keeps a process-wide font cache that is never freed; without
 * this every program that draws a figure would fail the leak check on
 * memory that is not ours. Only leaks allocated inside libfontconfig are
 * suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

/* plexit() would end the process after its handler returns; the handler
 * jumps back into render() instead. PLplot is single-threaded anyway. */
static jmp_buf *exit_jump;
static char exit_msg[256];
static PLINT abort_code;
static char abort_msg[1024];

static int on_plexit(const char *msg)
{
    snprintf(exit_msg, sizeof exit_msg, "%s", msg ? msg : "");
    if (exit_jump)
        longjmp(*exit_jump, 1);
    return 1;
}

static int have_device(const char *dev)
{
    /* plgDevs fills caller-allocated arrays; n is their size on input */
    const char *menu[128], *names[128];
    const char **pm = menu, **pn = names;
    int n = 128;
    plgDevs(&pm, &pn, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], dev))
            return 1;
    return 0;
}

static int64_t total_series(const struct sclaw_plot_fig *f)
{
    int64_t n = 0;
    for (int64_t k = 0; k < f->nrows * f->ncols; k++)
        n += f->panels[k].nseries;
    return n;
}

/* Everything between plinit and plend1, on the current (fresh) stream. */
static int setup_and_draw(const struct sclaw_plot_fig *f, const char *dev, FILE *out)
{
    int64_t ns = total_series(f);
    plsdev(dev);
    plsfile(out);
    plspage(0, 0, (PLINT)f->width, (PLINT)f->height, 0, 0);
    plscmap0n((PLINT)(COL_SERIES + ns > 16 ? COL_SERIES + ns : 16));
    plscolbg(255, 255, 255);
    plinit();
    set_color(COL_BG, 0xffffff);
    set_color(COL_FG, 0x000000);
    set_color(COL_GRID, 0xe3e3e3);
    set_color(COL_TICK, 0x999999);
    PLINT next = COL_SERIES;
    for (int64_t k = 0; k < f->nrows * f->ncols; k++)
        for (int64_t s = 0; s < f->panels[k].nseries; s++)
            set_color(next++, f->panels[k].series[s].style.color);
    plfontld(1);
    plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, PL_FCI_MEDIUM);
    return draw_figure(f);
}

/* Render f with device dev into the open file out (closed by PLplot). */
static int render(const struct sclaw_plot_fig *f, const char *dev, FILE *out, const char *path)
{
    PLINT old = 0;
    jmp_buf jb;
    /* both are assigned after setjmp and read after a longjmp */
    volatile int st = SCLAW_OK;
    volatile PLINT strm = -1;
    if (!have_device(dev)) {
        fclose(out);
        return sclaw_fail(SCLAW_E_IO, "cannot write '%s': plplot device '%s' is not installed "
                          "(Debian package plplot-driver-cairo)", path, dev);
    }
    plgstrm(&old);
    exit_msg[0] = 0;
    abort_msg[0] = 0;
    abort_code = 0;
    if (setjmp(jb) == 0) {
        exit_jump = &jb;
        plsexit(on_plexit);
        PLINT s = -1;
        plmkstrm(&s); /* -1 (and a line on stderr) when all streams are taken */
        strm = s;
        if (s < 0)
            st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': no free plplot stream", path);
        else {
            plsError(&abort_code, abort_msg);
            if (setup_and_draw(f, dev, out))
                st = sclaw_fail(SCLAW_E_NOMEM, "cannot write '%s': out of memory drawing", path);
        }
    } else {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': plplot: %s", path, exit_msg);
    }
    exit_jump = NULL;
    if (strm >= 0) {
        plsstrm(strm);
        plend1(); /* closes out (plCloseFile) */
    } else
        fclose(out);
    plsexit(NULL);
    plsstrm(old);
    if (!st && abort_code) {
        /* the message reads "\n*** PLPLOT ERROR, ABORTING OPERATION ***\nWHAT, aborting..." */
        char *m = abort_msg;
        while (*m == '\n' || *m == '*' || *m == ' ')
            m++;
        char *nl = strrchr(m, '\n');
        if (nl && !nl[1])
            *nl = 0;
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': plplot: %s", path, m);
    }
    return st;
}

/* Is the rendered file at fd complete? PNG: signature and final IEND chunk;
 * SVG: an <svg element and the closing tag at the end. */
static int check_output(int fd, int png, const char *path)
{
    struct stat sb;
    unsigned char head[256], tail[32];
    if (fstat(fd, &sb) != 0)
        return sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", path, strerror(errno));
    off_t size = sb.st_size;
    ssize_t nh = size > 0 ? pread(fd, head, sizeof head - 1, 0) : 0;
    ssize_t nt = size >= (off_t)sizeof tail ? pread(fd, tail, sizeof tail, size - (off_t)sizeof tail) : 0;
    if (nh < 0 || nt < 0)
        return sclaw_fail(SCLAW_E_IO, "cannot read back '%s': %s", path, strerror(errno));
    head[nh] = 0;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[8] = {'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    int ok;
    if (png)
        ok = nh >= 8 && !memcmp(head, sig, 8) && nt == (ssize_t)sizeof tail &&
             !memcmp(tail + sizeof tail - 8, iend, 8);
    else {
        char t[sizeof tail + 1];
        memcpy(t, tail, (size_t)(nt > 0 ? nt : 0));
        t[nt > 0 ? nt : 0] = 0;
        ok = strstr((char *)head, "<svg") && strstr(t, "</svg>");
    }
    if (!ok)
        return sclaw_fail(SCLAW_E_IO, "cannot write '%s': the %s written is incomplete "
                          "(%lld bytes; disk full?)", path, png ? "PNG" : "SVG", (long long)size);
    return SCLAW_OK;
}

/* Render into the temporary file of an atomic writer; PLplot gets its own
 * descriptor (it fcloses what it is given). */
static int render_into(const struct sclaw_plot_fig *f, const char *dev, struct sclaw_atomic *a,
                       int png)
{
    int fd = dup(fileno(a->fp));
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", a->path, strerror(e));
    }
    int st = render(f, dev, out, a->path);
    if (!st)
        st = check_output(fileno(a->fp), png, a->path);
    return st;
}

int sclaw_plot_write(const struct sclaw_plot_fig *f, const char *base)
{
    struct sclaw_atomic png = {0}, svg = {0};
    size_t n = strlen(base) + 8;
    char *ppng = malloc(n), *psvg = malloc(n);
    int st = SCLAW_OK;
    if (!ppng || !psvg) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory writing '%s'", base);
        goto done;
    }
    if (f->width < 16 || f->height < 16 || f->width > 20000 || f->height > 20000) {
        st = sclaw_fail(SCLAW_E_ARG, "figure '%s': size %lld x %lld px is not in 16..20000",
                        base, (long long)f->width, (long long)f->height);
        goto done;
    }
    snprintf(ppng, n, "%s.png", base);
    snprintf(psvg, n, "%s.svg", base);
    /* a target that is a directory would fail only at the second rename,
     * after the first file was replaced: refuse it up front */
    struct stat sb;
    if ((!stat(ppng, &sb) && !S_ISREG(sb.st_mode)) || (!stat(psvg, &sb) && !S_ISREG(sb.st_mode))) {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': not a regular file",
                        !stat(ppng, &sb) && !S_ISREG(sb.st_mode) ? ppng : psvg);
        goto done;
    }
    if ((st = sclaw_atomic_open(&png, ppng, "wb+")) ||
        (st = sclaw_atomic_open(&svg, psvg, "wb+")))
        goto done;
    if ((st = render_into(f, "pngcairo", &png, 1)) || (st = render_into(f, "svgcairo", &svg, 0)))
        goto done;
    if ((st = sclaw_atomic_commit(&png)))
        goto done;
    st = sclaw_atomic_commit(&svg);
done:
    sclaw_atomic_abort(&png);
    sclaw_atomic_abort(&svg);
    free(ppng);
    free(psvg);
    return st;
}
