/* checkpoint.c - one-file training checkpoints (sclaw_train.h): params, Adam
 * moments and the run state in a single safetensors file, written atomically,
 * so a checkpoint is always complete. Also memory queries for the run plan. */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_safetensors.h"
#include "sclaw_status.h"
#include "sclaw_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const prefixes[3] = {"", "exp_avg.", "exp_avg_sq."};

int sclaw_ckpt_save(const char *path, const struct sclaw_model *m, const struct sclaw_adamw *o,
                    const json_t *state)
{
    const struct sclaw_tensor_table *tt = &m->tt;
    int np = o ? 3 : 1, st;
    const float *bufs[3] = {m->params, o ? o->m : NULL, o ? o->v : NULL};
    struct sclaw_st_tensor *t = calloc((size_t)(np * tt->n), sizeof *t);
    char (*names)[SCLAW_TENSOR_NAME_MAX + 16] = calloc((size_t)(np * tt->n), sizeof *names);
    json_t *meta = json_object();
    char *s = state ? json_dumps(state, JSON_COMPACT) : NULL;
    if (!t || !names || !meta || (state && !s)) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    json_object_set_new(meta, "format", json_string("pt"));
    if (s)
        json_object_set_new(meta, "sclaw_state", json_string(s));
    for (int p = 0; p < np; p++)
        for (int64_t i = 0; i < tt->n; i++) {
            int64_t k = p * tt->n + i;
            snprintf(names[k], sizeof names[k], "%s%s", prefixes[p], tt->t[i].name);
            t[k] = (struct sclaw_st_tensor){names[k], tt->t[i].ndim, tt->t[i].shape,
                                            bufs[p] + tt->t[i].offset};
        }
    st = sclaw_st_write(path, t, np * tt->n, meta);
done:
    free(t);
    free(names);
    free(s);
    if (meta)
        json_decref(meta);
    return st;
}

static char *shape_str(const struct sclaw_st_entry *e, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < e->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)e->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int sclaw_ckpt_load(const char *path, struct sclaw_model *m, struct sclaw_adamw *o,
                    json_t **state)
{
    const struct sclaw_tensor_table *tt = &m->tt;
    struct sclaw_st_file f;
    int st = sclaw_st_open(&f, path);
    if (state)
        *state = NULL;
    if (st)
        return st;
    int np = o ? 3 : 1;
    float *bufs[3] = {m->params, o ? o->m : NULL, o ? o->v : NULL};
    /* every tensor in the file must be a table tensor (under one of the
     * prefixes); optimiser tensors are skipped when o is NULL */
    for (int64_t i = 0; i < f.n; i++) {
        const char *nm = f.e[i].name;
        int known = 0;
        for (int p = 2; p >= 0 && !known; p--) {
            size_t pl = strlen(prefixes[p]);
            if (!strncmp(nm, prefixes[p], pl) && sclaw_tensor_table_find(tt, nm + pl) >= 0)
                known = 1;
        }
        if (!known) {
            st = sclaw_fail(SCLAW_E_SHAPE, "%s: unexpected tensor '%s' (not in the model config)",
                            path, nm);
            goto done;
        }
    }
    for (int p = 0; p < np; p++)
        for (int64_t i = 0; i < tt->n; i++) {
            const struct sclaw_tensor_info *t = &tt->t[i];
            char name[SCLAW_TENSOR_NAME_MAX + 16], want[64], got[96];
            snprintf(name, sizeof name, "%s%s", prefixes[p], t->name);
            int64_t k = sclaw_st_find(&f, name);
            if (k < 0) {
                st = sclaw_fail(SCLAW_E_SHAPE, "%s: missing tensor '%s' %s", path, name,
                                sclaw_tensor_shape_str(t, want, sizeof want));
                goto done;
            }
            const struct sclaw_st_entry *e = &f.e[k];
            if (e->ndim != t->ndim || e->shape[0] != t->shape[0] ||
                (t->ndim == 2 && e->shape[1] != t->shape[1])) {
                st = sclaw_fail(SCLAW_E_SHAPE, "%s: tensor '%s': shape %s, config says %s", path,
                                name, shape_str(e, got, sizeof got),
                                sclaw_tensor_shape_str(t, want, sizeof want));
                goto done;
            }
            if ((st = sclaw_st_read(&f, k, bufs[p] + t->offset)))
                goto done;
        }
    if (state && f.metadata) {
        const json_t *s = json_object_get(f.metadata, "sclaw_state");
        if (s) {
            json_error_t err;
            *state = json_loads(json_string_value(s), JSON_REJECT_DUPLICATES, &err);
            if (!*state || !json_is_object(*state)) {
                if (*state)
                    json_decref(*state);
                *state = NULL;
                st = sclaw_fail(SCLAW_E_FORMAT, "%s: bad 'sclaw_state' metadata", path);
                goto done;
            }
        }
    }
done:
    sclaw_st_close(&f);
    return st;
}

/* /proc/meminfo MemAvailable, capped by a cgroup v2 (or v1) memory limit. */
int sclaw_mem_available(double *bytes)
{
    double avail = -1;
    FILE *fp = fopen("/proc/meminfo", "r");
    char line[256];
    if (fp) {
        while (fgets(line, sizeof line, fp)) {
            long long kb;
            if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
                avail = (double)kb * 1024.0;
        }
        fclose(fp);
    }
    static const char *const limits[] = {"/sys/fs/cgroup/memory.max",
                                         "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (int i = 0; i < 2; i++) {
        fp = fopen(limits[i], "r");
        if (!fp)
            continue;
        long long lim;
        if (fscanf(fp, "%lld", &lim) == 1 && lim > 0 && (avail < 0 || (double)lim < avail))
            avail = (double)lim;
        fclose(fp);
    }
    if (avail < 0)
        return sclaw_fail(SCLAW_E_IO, "cannot tell how much memory is available");
    *bytes = avail;
    return SCLAW_OK;
}

double sclaw_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}
