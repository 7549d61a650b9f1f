/* sclaw_plot.h - figures for reports: panels of scatter and line series on
 * linear or log axes, written as PNG and SVG (PLplot with its cairo drivers).
 *
 * A report author builds a figure in memory, then writes it; nothing touches
 * PLplot until sclaw_plot_write:
 *
 *     struct sclaw_plot_fig fig;
 *     if ((st = sclaw_plot_init(&fig, 1, 2, "IsoFLOP optima")))        // 1 row, 2 panels
 *         return st;
 *     struct sclaw_plot_panel *p = sclaw_plot_panel(&fig, 0, 0);
 *     sclaw_plot_labels(p, "model size", "C [FLOPs]", "N*");
 *     p->flags = SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG;
 *     sclaw_plot_scatter(p, "xLSTM", C, N, n, sclaw_plot_color(0), SCLAW_MARK_CIRCLE);
 *     sclaw_plot_line(p, "fit", Cg, Ng, 64, sclaw_plot_color(0), SCLAW_LINE_DASHED);
 *     ...
 *     st = sclaw_plot_write(&fig, "out/isoflop");  // out/isoflop.png + out/isoflop.svg
 *     sclaw_plot_free(&fig);
 *
 * Memory: the figure owns copies of every string and data array given to it,
 * so the caller's buffers may be freed right after an add call.
 *
 * Data: points that are not finite, or not > 0 on a log axis, are skipped;
 * a line series breaks at them (a gap, not a jump). Axis ranges are the data
 * range plus a small margin unless set in xlim/ylim (NaN = automatic). Log
 * axes spanning under 2.5 decades get 1-2-5 style ticks instead of only
 * powers of ten.
 *
 * Text: labels are UTF-8 and may use PLplot's escapes: "#u..#d" superscript,
 * "#d..#u" subscript, "##" a literal '#'.
 *
 * Files: both outputs are rendered to temporary files next to the targets
 * (sclaw_atomic_open), checked to be complete (PNG signature and IEND chunk;
 * SVG root element and closing tag), and only then renamed onto the targets.
 * On failure no temporary file is left and existing targets are untouched.
 *
 * PLplot state: each write uses a fresh PLplot stream (plmkstrm) that is
 * ended with plend1, and the caller's current stream is restored, so any
 * number of figures can be written per process and an application's own
 * PLplot use is not disturbed. A PLplot fatal error (plexit) is caught and
 * turned into SCLAW_E_IO instead of ending the process. PLplot keeps global
 * state: do not write figures from several threads at once.
 */
#ifndef SCLAW_PLOT_H
#define SCLAW_PLOT_H

#include <stdint.h>

/* Axis scale flags (struct sclaw_plot_panel.flags). */
#define SCLAW_PLOT_XLOG 1u
#define SCLAW_PLOT_YLOG 2u

enum sclaw_plot_marker {
    SCLAW_MARK_NONE = 0,
    SCLAW_MARK_CIRCLE,
    SCLAW_MARK_SQUARE,
    SCLAW_MARK_TRIANGLE,
    SCLAW_MARK_DIAMOND,
    SCLAW_MARK_DOWN,        /* downward triangle */
    SCLAW_MARK_STAR,
    SCLAW_MARK_OPEN_CIRCLE,
    SCLAW_MARK_CROSS,
    SCLAW_MARK_COUNT
};

enum sclaw_plot_linestyle {
    SCLAW_LINE_NONE = 0,
    SCLAW_LINE_SOLID,
    SCLAW_LINE_DASHED,
    SCLAW_LINE_DOTTED,
    SCLAW_LINE_COUNT
};

enum sclaw_plot_legend {
    SCLAW_LEGEND_NONE = 0,      /* no legend even if series have labels */
    SCLAW_LEGEND_TOP_RIGHT,     /* default: inside the axes */
    SCLAW_LEGEND_TOP_LEFT,
    SCLAW_LEGEND_BOTTOM_LEFT,
    SCLAW_LEGEND_BOTTOM_RIGHT,
    SCLAW_LEGEND_OUTSIDE_RIGHT, /* right of the axes; the panel is narrowed to make room */
    SCLAW_LEGEND_COUNT
};

/* How one series is drawn. A series has markers, a line, or both. */
struct sclaw_plot_style {
    uint32_t color;   /* 0xRRGGBB */
    int marker;       /* enum sclaw_plot_marker */
    int line;         /* enum sclaw_plot_linestyle */
    double width;     /* line width in PLplot units (0: default 1.5) */
    double size;      /* marker scale (0: default 1.0) */
};

struct sclaw_plot_series {
    char *label;      /* legend text; NULL = not in the legend */
    double *x, *y;    /* [n], owned */
    int64_t n;
    struct sclaw_plot_style style;
};

struct sclaw_plot_panel {
    char *title, *xlabel, *ylabel;   /* owned; NULL = none */
    unsigned flags;                  /* SCLAW_PLOT_XLOG | SCLAW_PLOT_YLOG */
    double xlim[2], ylim[2];         /* axis range in data units; NaN = automatic */
    int legend;                      /* enum sclaw_plot_legend (default TOP_RIGHT) */
    int legend_cols;                 /* legend columns (default 1) */
    struct sclaw_plot_series *series;
    int64_t nseries, cap;
};

struct sclaw_plot_fig {
    char *title;                     /* owned; NULL = none */
    int64_t nrows, ncols;
    int64_t width, height;           /* PNG size in pixels (default 560 per panel
                                      * column, 420 per row); the SVG has the
                                      * same proportions */
    struct sclaw_plot_panel *panels; /* [nrows * ncols], row-major */
};

/* A figure of nrows x ncols empty panels (1..8 each). title may be NULL. */
int sclaw_plot_init(struct sclaw_plot_fig *f, int64_t nrows, int64_t ncols, const char *title);
/* Releases everything the figure owns; safe on a zeroed or freed figure. */
void sclaw_plot_free(struct sclaw_plot_fig *f);
/* The panel at (row, col); asserts the indices are in range. */
struct sclaw_plot_panel *sclaw_plot_panel(struct sclaw_plot_fig *f, int64_t row, int64_t col);
/* Set (copy) a panel's title and axis labels; NULL leaves one unset. */
int sclaw_plot_labels(struct sclaw_plot_panel *p, const char *title, const char *xlabel,
                      const char *ylabel);
/* Add a series (x, y: [n], copied). label may be NULL. n may be 0. */
int sclaw_plot_add(struct sclaw_plot_panel *p, const char *label, const double *x,
                   const double *y, int64_t n, const struct sclaw_plot_style *style);
/* Shorthands for a marker-only and a line-only series. */
int sclaw_plot_scatter(struct sclaw_plot_panel *p, const char *label, const double *x,
                       const double *y, int64_t n, uint32_t color, int marker);
int sclaw_plot_line(struct sclaw_plot_panel *p, const char *label, const double *x,
                    const double *y, int64_t n, uint32_t color, int line);

/* Write base.png and base.svg (base has no extension; its directory must
 * exist). Both are rendered and checked before either is renamed into place;
 * on failure no temporary file is left and existing targets are untouched
 * (barring a failure between the two renames). */
int sclaw_plot_write(const struct sclaw_plot_fig *f, const char *base);

/* The i-th colour of a 10-colour qualitative palette (i wraps). */
uint32_t sclaw_plot_color(int64_t i);
/* A sequential colour ramp (dark blue -> green -> yellow) for t in [0, 1],
 * clamped: for ordered groups such as model sizes. */
uint32_t sclaw_plot_ramp(double t);

#endif
