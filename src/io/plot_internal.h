/* plot_internal.h - what the two halves of the plotting module share
 * (src/io/plot.c draws and writes, src/io/plot_axis.c computes axis ranges,
 * ticks and tick labels). Not a public API: see sclaw_plot.h. */
#ifndef SCLAW_PLOT_INTERNAL_H
#define SCLAW_PLOT_INTERNAL_H

#include "sclaw_plot.h"

#define SCLAW_PLOT_MAX_TICKS 160

struct tick {
    double pos;       /* in plot coordinates (log10 of the value on log axes) */
    int major;
    char label[48];
};

struct axis {
    int log;
    double lo, hi;    /* plot coordinates */
    struct tick t[SCLAW_PLOT_MAX_TICKS];
    int n;
    double label_mm;  /* widest tick label, estimated */
};

/* A data value can be drawn: finite, and > 0 on a log axis. */
int sclaw_plot_usable(double v, int log);
/* Plot coordinate of a data value (log10 on log axes). */
double sclaw_plot_coord(double v, int log);
/* Estimated width in mm of a label at character height ch (PLplot escapes
 * such as "#u" take no room). */
double sclaw_plot_text_mm(const char *s, double ch);
/* Range (data range plus margin, or the panel's fixed limits) and ticks with
 * labels of the x (yaxis = 0) or y axis of a panel. */
void sclaw_plot_axis_make(const struct sclaw_plot_panel *p, int yaxis, double ch, struct axis *a);
/* Blank tick labels that would overlap along an axis len_mm long. */
void sclaw_plot_axis_thin(struct axis *a, double len_mm, double ch, int yaxis);

#endif
