/* progress.c - progress line on stderr (progress.h). */
#include "progress.h"
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(struct cli_progress *p)
{
    p->enabled = !cli.quiet && isatty(STDERR_FILENO);
    p->last = 0;
    p->shown = 0;
}

void cli_progress_line(struct cli_progress *p, const char *fmt, ...)
{
    double t = now();
    if (!p->enabled || t - p->last < 0.1)
        return;
    p->last = t;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    p->shown = 1;
}

void cli_progress_event(struct cli_progress *p, const char *fmt, ...)
{
    if (cli.quiet)
        return;
    if (p->shown)
        fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    p->shown = 0;
    p->last = 0; /* redraw the progress line at the next update */
}

void cli_progress_done(struct cli_progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}

char *cli_fmt_duration(char *buf, unsigned long n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%.0fs", s);
    return buf;
}
