/* progress.h - one rate-limited progress line on stderr (cli only).
 * Shown only when stderr is a terminal and --quiet is not given; at most
 * 10 updates a second; events (a finished run, a warning) print on lines of
 * their own above it. */
#ifndef SCLAW_CLI_PROGRESS_H
#define SCLAW_CLI_PROGRESS_H

struct cli_progress {
    int enabled;
    double last;     /* time of the last update */
    int shown;       /* a line is on screen */
};

void cli_progress_init(struct cli_progress *p);
/* Replace the progress line (printf-style); dropped if < 0.1 s since the last. */
void cli_progress_line(struct cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print a line of its own (always, unless --quiet), keeping the progress line below it. */
void cli_progress_event(struct cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clear the progress line. */
void cli_progress_done(struct cli_progress *p);
/* "1h02m", "3m05s", "12s" */
char *cli_fmt_duration(char *buf, unsigned long n, double seconds);

#endif
