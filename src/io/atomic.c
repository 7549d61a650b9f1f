/* atomic.c - write-to-temporary-then-rename file writer (sclaw_io.h, style.md §2.3). */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sclaw_atomic_open(struct sclaw_atomic *a, const char *path, const char *mode)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 32;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        sclaw_atomic_abort(a);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory opening '%s'", path);
    }
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->fp = fopen(a->tmp, mode);
    if (!a->fp) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        memset(a, 0, sizeof *a);
        return sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", path, strerror(e));
    }
    return SCLAW_OK;
}

int sclaw_atomic_probe(const char *path)
{
    struct sclaw_atomic a;
    int st = sclaw_atomic_open(&a, path, "w");
    if (!st)
        sclaw_atomic_abort(&a);
    return st;
}

/* fsync the directory holding path so the rename itself is durable. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int sclaw_atomic_commit(struct sclaw_atomic *a)
{
    int st = SCLAW_OK;
    if (!a->fp)
        return sclaw_fail(SCLAW_E_ARG, "atomic writer not open");
    if (fflush(a->fp) != 0 || ferror(a->fp) || fsync(fileno(a->fp)) != 0) {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", a->path, strerror(errno));
        goto done;
    }
    FILE *fp = a->fp;
    a->fp = NULL;
    if (fclose(fp) != 0) {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", a->path, strerror(errno));
        goto done;
    }
    if (rename(a->tmp, a->path) != 0) {
        st = sclaw_fail(SCLAW_E_IO, "cannot rename '%s' to '%s': %s", a->tmp, a->path,
                        strerror(errno));
        goto done;
    }
    sync_dir(a->path);
    free(a->tmp);
    a->tmp = NULL;
done:
    sclaw_atomic_abort(a);
    return st;
}

void sclaw_atomic_abort(struct sclaw_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof *a);
}

int sclaw_atomic_print(const char *path, int (*print)(const void *obj, FILE *fp), const void *obj)
{
    struct sclaw_atomic a;
    int st = sclaw_atomic_open(&a, path, "w");
    if (st)
        return st;
    if ((st = print(obj, a.fp))) {
        sclaw_atomic_abort(&a);
        return sclaw_wrap(st, "writing '%s'", path);
    }
    return sclaw_atomic_commit(&a);
}

int sclaw_atomic_write(const char *path, const void *data, size_t n)
{
    struct sclaw_atomic a;
    int st = sclaw_atomic_open(&a, path, "wb");
    if (st)
        return st;
    if (n && fwrite(data, 1, n, a.fp) != n) {
        st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", path, strerror(errno));
        sclaw_atomic_abort(&a);
        return st;
    }
    return sclaw_atomic_commit(&a);
}
