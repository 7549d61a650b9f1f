/* sclaw_io.h - files in and out: atomic writes, CSV tables, JSON, human tables.
 *
 * Every file sclaw writes (CSV, JSON, checkpoints, plots, reports) goes through
 * the atomic writer: the data goes to "<path>.tmp.<pid>", which is flushed,
 * fsync'ed, closed and renamed onto <path>, and the directory is fsync'ed. On
 * any failure the temporary file is removed and an existing <path> survives
 * untouched (style.md §2.3).
 *
 * CSV tables are read whole into memory as strings (RFC 4180 quoting), with
 * the file line of every row kept for error messages ("runs.csv:12: ...").
 * JSON uses Jansson; this header only adds file helpers on top of it.
 */
#ifndef SCLAW_IO_H
#define SCLAW_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* ---- atomic file writer ---------------------------------------------- */
struct sclaw_atomic {
    FILE *fp;    /* write here between _open and _commit */
    char *path;  /* target */
    char *tmp;   /* temporary file, renamed onto path by _commit */
};

/* Creates the temporary file next to path; mode is "w" or "wb". */
int sclaw_atomic_open(struct sclaw_atomic *a, const char *path, const char *mode);
/* Flush, fsync, close, rename onto the target, fsync the directory. On failure
 * the temporary file is removed and the target is left as it was. Always
 * releases a. */
int sclaw_atomic_commit(struct sclaw_atomic *a);
/* Can path be written atomically (its directory exists and takes a new
 * file)? Creates and removes the temporary file; the target is not touched.
 * For commands that write their result only after minutes of work. */
int sclaw_atomic_probe(const char *path);
/* Drop the temporary file (safe on a zeroed or committed struct). */
void sclaw_atomic_abort(struct sclaw_atomic *a);
/* Write path atomically through a print function: print(obj, fp) returns a
 * status; on failure the target is left untouched. */
int sclaw_atomic_print(const char *path, int (*print)(const void *obj, FILE *fp), const void *obj);
/* Write n bytes to path atomically. */
int sclaw_atomic_write(const char *path, const void *data, size_t n);

/* ---- numbers ---------------------------------------------------------- */
/* Strict parse of a whole string as a double ("1e3", "nan", " 2 " with
 * surrounding blanks); returns 0 on success, -1 if s is not a number. */
int sclaw_parse_double(const char *s, double *out);
/* Strict parse of a whole string as an integer; accepts "12" and "12.0". */
int sclaw_parse_int64(const char *s, int64_t *out);

/* ---- CSV -------------------------------------------------------------- */
struct sclaw_csv {
    char *path;       /* as given to _read; used in messages */
    int64_t ncols;
    int64_t nrows;
    char **header;    /* [ncols] */
    char **cells;     /* [nrows * ncols], row-major; never NULL entries */
    int64_t *line;    /* [nrows] file line where each row starts (1-based) */
    int64_t cap;      /* allocated rows */
};

/* Read a CSV file with a header row. Rows with a different number of fields
 * are an error naming the line. */
int sclaw_csv_read(struct sclaw_csv *t, const char *path);
/* An empty table with the given columns (for building output). */
int sclaw_csv_init(struct sclaw_csv *t, int64_t ncols, const char *const *names);
void sclaw_csv_free(struct sclaw_csv *t);
/* Column index or -1. */
int64_t sclaw_csv_col(const struct sclaw_csv *t, const char *name);
/* Column index into *col, or an error "PATH: missing column 'NAME'". */
int sclaw_csv_require(const struct sclaw_csv *t, const char *name, int64_t *col);
static inline const char *sclaw_csv_cell(const struct sclaw_csv *t, int64_t row, int64_t col)
{
    return t->cells[row * t->ncols + col];
}
/* Numeric cell. An empty cell gives NaN and status OK; a cell that is not a
 * number is an error "PATH:LINE: column 'NAME': 'TEXT' is not a number". */
int sclaw_csv_double(const struct sclaw_csv *t, int64_t row, int64_t col, double *out);
/* Append a column (all cells empty) and return its index through *col; if it
 * exists already its index is returned. */
int sclaw_csv_add_col(struct sclaw_csv *t, const char *name, int64_t *col);
/* Append an empty row; its index through *row. */
int sclaw_csv_add_row(struct sclaw_csv *t, int64_t *row);
/* Replace a cell's text (copied). */
int sclaw_csv_set(struct sclaw_csv *t, int64_t row, int64_t col, const char *text);
/* Replace a cell with a number printed with 17 significant digits ("" for NaN). */
int sclaw_csv_set_double(struct sclaw_csv *t, int64_t row, int64_t col, double v);
/* Write the table (quoting where needed) to an open stream / atomically to path. */
int sclaw_csv_print(const struct sclaw_csv *t, FILE *fp);
int sclaw_csv_write(const struct sclaw_csv *t, const char *path);

/* ---- JSON -------------------------------------------------------------- */
/* Load a JSON file; errors name the file, line and column. Caller decrefs. */
int sclaw_json_load(const char *path, json_t **out);
/* Write a JSON value atomically (indented, reals with 17 digits). */
int sclaw_json_write(const char *path, const json_t *v);
/* Print to a stream, indented, with a trailing newline. */
int sclaw_json_print(const json_t *v, FILE *fp);
/* A JSON number for a double: an integer if it is integral and exactly
 * representable (|x| < 2^53), else a real; null for NaN/Inf. New reference. */
json_t *sclaw_json_number(double x);

/* ---- human output -------------------------------------------------------- */
/* "6,865,424,896" for integral values below 2^53, else %.6g. */
char *sclaw_fmt_group(char *buf, size_t n, double x);
/* SI form with 4 significant digits: 164.1M, 2.810e18 -> "2.810E" style is
 * avoided: values >= 1e15 print as "2.81e18". */
char *sclaw_fmt_si(char *buf, size_t n, double x);

/* A simple aligned text table: add a header row, then rows, then print. */
struct sclaw_table {
    int64_t ncols, nrows, cap;
    char **cells;   /* [(nrows) * ncols], row 0 is the header */
    int *right;     /* [ncols] 1 = right-align (numbers) */
};
int sclaw_table_init(struct sclaw_table *tb, int64_t ncols, const char *const *header);
/* Append a row of ncols strings (copied). */
int sclaw_table_add(struct sclaw_table *tb, const char *const *cells);
void sclaw_table_print(const struct sclaw_table *tb, FILE *fp);
void sclaw_table_free(struct sclaw_table *tb);

#endif
