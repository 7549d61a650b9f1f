/* model_open.c - model handles for inference (sclaw_infer.h): load a run
 * directory or checkpoint (the layout of sclaw_train.h: config.json +
 * model.safetensors, or checkpoint.safetensors of an unfinished run; read by
 * the trainer's checkpoint loader, optimiser moments skipped), or build a
 * randomly initialised model of a config for timing. */
#include "sclaw_infer.h"
#include "sclaw_io.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "sclaw_train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Model config of a run: config.json is the model config itself, or an object
 * whose "model" member is (a run config that also records training keys). */
static int load_config(struct sclaw_config *c, const char *path)
{
    json_t *j = NULL;
    int st = sclaw_json_load(path, &j);
    if (st)
        return st;
    const json_t *obj = j;
    const json_t *inner = json_object_get(j, "model");
    if (json_is_object(inner))
        obj = inner;
    st = sclaw_config_from_json(c, obj, path);
    json_decref(j);
    return st;
}

int sclaw_infer_model_open(struct sclaw_model **out, const char *path)
{
    struct stat sb;
    char *cfg = NULL, *wts = NULL;
    struct sclaw_config c;
    struct sclaw_model *m = NULL;
    int st = SCLAW_OK;
    *out = NULL;
    if (stat(path, &sb) != 0)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t n = strlen(path) + 32;
    cfg = malloc(n);
    wts = malloc(n);
    if (!cfg || !wts) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        /* a run directory: the final weights, else the last checkpoint */
        snprintf(cfg, n, "%s/config.json", path);
        snprintf(wts, n, "%s/model.safetensors", path);
        if (access(wts, F_OK) != 0)
            snprintf(wts, n, "%s/checkpoint.safetensors", path);
    } else {
        /* a checkpoint file: the config sits next to it */
        const char *slash = strrchr(path, '/');
        if (slash)
            snprintf(cfg, n, "%.*s/config.json", (int)(slash - path), path);
        else
            snprintf(cfg, n, "config.json");
        snprintf(wts, n, "%s", path);
    }
    if ((st = load_config(&c, cfg)))
        goto done;
    m = calloc(1, sizeof *m);
    if (!m) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = sclaw_model_init(m, &c)))
        goto done;
    if ((st = sclaw_ckpt_load(wts, m, NULL, NULL))) {
        st = sclaw_wrap(st, "loading weights for '%s'", cfg);
        goto done;
    }
    *out = m;
    m = NULL;
done:
    if (m) {
        sclaw_model_free(m);
        free(m);
    }
    free(cfg);
    free(wts);
    return st;
}

int sclaw_infer_model_random(struct sclaw_model **out, const struct sclaw_config *c,
                             uint64_t seed)
{
    struct sclaw_model *m = calloc(1, sizeof *m);
    int st;
    *out = NULL;
    if (!m)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if ((st = sclaw_model_init(m, c))) {
        free(m);
        return st;
    }
    sclaw_model_init_params(m, seed);
    *out = m;
    return SCLAW_OK;
}

void sclaw_infer_model_close(struct sclaw_model *m)
{
    if (!m)
        return;
    sclaw_model_free(m);
    free(m);
}

const struct sclaw_config *sclaw_infer_model_config(const struct sclaw_model *m)
{
    return &m->cfg;
}

int64_t sclaw_infer_model_params(const struct sclaw_model *m)
{
    return m->tt.numel;
}
