/* report_internal.h - helpers shared by the files of src/report (not a public API).
 *
 * A report run collects computed numbers under the keys of the paper table
 * (sclaw_paper_values), writes its Markdown into a memory stream and its
 * figures through sclaw_plot, and finally compares and writes report.md. */
#ifndef SCLAW_REPORT_INTERNAL_H
#define SCLAW_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sclaw_plot.h"
#include "sclaw_report.h"

struct rep_val {
    char *key;
    double v;
};

struct rep {
    const struct sclaw_report_opts *o;
    struct sclaw_report_result *r;
    const char *data_dir;
    FILE *md;              /* Markdown being written (memory stream) */
    char *md_buf;
    size_t md_len;
    struct rep_val *vals;  /* computed numbers, by paper key */
    int64_t nvals, cap;
    char pathbuf[4200];
    int made_dir;          /* rep_begin created out_dir */
};

/* Report the start of a stage through opts.progress (if set). */
void rep_stage(struct rep *c, int stage, int nstages, const char *what);
/* Check options, create out_dir, open the Markdown stream. */
int rep_begin(struct rep *c, const struct sclaw_report_opts *o, struct sclaw_report_result *r);
/* Free the report state; after a failure (st != 0) remove out_dir again if
 * rep_begin created it and nothing was written into it. */
void rep_end(struct rep *c, int st);
/* data_dir/file (valid until the next call). */
const char *rep_path(struct rep *c, const char *file);
/* Record a computed number under a printf-formatted key. */
int rep_put(struct rep *c, double v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double rep_get(const struct rep *c, const char *key);
/* Write a figure as out_dir/name.{png,svg} and list both files. */
int rep_figure(struct rep *c, const struct sclaw_plot_fig *f, const char *name);
int rep_add_file(struct rep *c, const char *path);
/* Fill r->checks from the paper values whose key starts with prefix
 * (exclude = 0) or does not (exclude = 1). */
int rep_compare(struct rep *c, const char *prefix, int exclude);
/* The comparison as a Markdown table plus a summary line. */
void rep_md_comparison(struct rep *c);
/* Write out_dir/report.md from the memory stream. */
int rep_write_md(struct rep *c);
/* A number for a table cell ("—" for NaN). */
void rep_fmt(char *buf, size_t n, double v);
/* "6e18" for an IsoFLOP budget label. */
void rep_budget_name(char *buf, size_t n, double b);

#endif
