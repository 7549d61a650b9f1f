/* adamw.c - AdamW with decoupled weight decay and the global gradient norm
 * (models.md §1.5; sclaw_train.h). Params, grads, m and v share the tensor
 * table's layout, so the update is one flat loop. */
#include "sclaw_status.h"
#include "sclaw_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sclaw_adamw_init(struct sclaw_adamw *o, const struct sclaw_tensor_table *tt, double beta1,
                     double beta2, double eps, double weight_decay)
{
    memset(o, 0, sizeof *o);
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->n = tt->numel;
    o->m = sclaw_alloc_floats(o->n);
    o->v = sclaw_alloc_floats(o->n);
    o->range = calloc((size_t)tt->n + 1, sizeof *o->range);
    if (!o->m || !o->v || !o->range) {
        sclaw_adamw_free(o);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory: AdamW state needs %.2f GiB",
                          2.0 * (double)tt->numel * 4.0 / (1 << 30));
    }
    /* the table's per-tensor decay flags as runs of equal flags over the
     * buffer (tensors are contiguous, in table order) */
    for (int64_t k = 0; k < tt->n; k++) {
        const struct sclaw_tensor_info *t = &tt->t[k];
        if (o->nrange && o->range[o->nrange - 1].decay == t->decay)
            o->range[o->nrange - 1].end = t->offset + t->numel;
        else
            o->range[o->nrange++] = (struct sclaw_adamw_range){t->offset, t->offset + t->numel,
                                                                t->decay};
    }
    return SCLAW_OK;
}

void sclaw_adamw_free(struct sclaw_adamw *o)
{
    free(o->m);
    free(o->v);
    free(o->range);
    memset(o, 0, sizeof *o);
}

void sclaw_adamw_step(struct sclaw_adamw *o, float *params, const float *grads, double lr,
                      double gscale)
{
    o->t++;
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    /* bias corrections folded into two scalars */
    const float c1 = (float)(1.0 / (1.0 - pow(o->beta1, (double)o->t)));
    const float c2 = (float)(1.0 / (1.0 - pow(o->beta2, (double)o->t)));
    const float flr = (float)lr, wd = (float)o->weight_decay, gs = (float)gscale;
    float *m = o->m, *v = o->v;
    for (int64_t r = 0; r < o->nrange; r++) {
        const float w = o->range[r].decay ? wd : 0.0f;
        /* elementwise: any thread count gives the same bits */
#pragma omp parallel for schedule(static)
        for (int64_t i = o->range[r].begin; i < o->range[r].end; i++) {
            float g = grads[i] * gs;
            m[i] = b1 * m[i] + (1.0f - b1) * g;
            v[i] = b2 * v[i] + (1.0f - b2) * g * g;
            float upd = (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
            params[i] -= flr * (upd + w * params[i]);
        }
    }
}

double sclaw_grad_norm(const float *g, int64_t n)
{
    /* fixed chunks summed in parallel, then the partial sums in order */
    enum { CH = 1 << 16 };
    int64_t nc = (n + CH - 1) / CH;
    double *part = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *part);
    if (!part) { /* fall back to one serial pass */
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += (double)g[i] * g[i];
        return sqrt(s);
    }
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < nc; c++) {
        double s = 0;
        int64_t end = (c + 1) * CH < n ? (c + 1) * CH : n;
        for (int64_t i = c * CH; i < end; i++)
            s += (double)g[i] * g[i];
        part[c] = s;
    }
    double s = 0;
    for (int64_t c = 0; c < nc; c++)
        s += part[c];
    free(part);
    return sqrt(s);
}
