/* lm.c - the language model around the blocks (sclaw_model.h): tensor table,
 * memory plan, embedding, block stack, final RMSNorm, LM head with optional
 * logit soft-cap, cross-entropy loss, and their backward (models.md §1.2, §2,
 * §3.7). Family-specific code is reached only through struct sclaw_arch. */
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_status.h"
#include "blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sclaw_model_table(const struct sclaw_config *c, struct sclaw_tensor_table *tt)
{
    const struct sclaw_arch *a = c->arch;
    const int64_t D = c->embedding_dim, V = c->vocab_size, NB = c->num_blocks;
    const double small = sqrt(2.0 / (5.0 * (double)D));
    int st;
    memset(tt, 0, sizeof *tt);
    if (!a->add_block_tensors)
        return sclaw_fail(SCLAW_E_ARG, "model family '%s' cannot be trained", a->name);
    /* embedding: small init, no weight decay (models.md §1.5) */
    if ((st = sclaw_tensor_table_add(tt, a->embedding_name, 2, V, D, 0, SCLAW_INIT_NORMAL, small, 0, -1)))
        goto fail;
    for (int64_t l = 0; l < NB; l++) {
        int64_t before = tt->n;
        if ((st = a->add_block_tensors(c, l, tt)))
            goto fail;
        SCLAW_ASSERT(tt->n - before == a->block_ntensors);
    }
    if ((st = sclaw_tensor_table_add(tt, a->out_norm_name, 1, D, 0, 0, SCLAW_INIT_CONST, 1, 0, -1)))
        goto fail;
    if ((st = sclaw_tensor_table_add(tt, "lm_head.weight", 2, V, D, 1, SCLAW_INIT_NORMAL, small, 0,
                                     -1)))
        goto fail;
    return SCLAW_OK;
fail:
    sclaw_tensor_table_free(tt);
    return st;
}

/* Rows of the LM head processed at once: bounds the (R, V) logit buffers
 * to about 32 MiB each while keeping the GEMMs reasonably large. */
static int64_t head_rows(int64_t N, int64_t V)
{
    int64_t r = ((int64_t)1 << 23) / V;
    if (r < 16)
        r = 16;
    return r < N ? r : N;
}

/* Floats of the activation block (everything sclaw_model_reserve allocates). */
/* Layout of the block (in this order, each region 64-byte aligned):
 *   resid (NB+1, N, D) | xf, dres, dxf (N, D) | rstd_f, losses (N) |
 *   logit_raw, logit (R, V) | saved[l] for each block | shared scratch |
 *   tok, tgt, seg, pos (N int32) | border (N bytes)
 * sclaw_model_reserve carves it in the same order. */
static int64_t acts_floats(const struct sclaw_config *c, int64_t B, int64_t T)
{
    const struct sclaw_arch *a = c->arch;
    const int64_t N = B * T, D = c->embedding_dim, V = c->vocab_size, NB = c->num_blocks;
    int64_t R = head_rows(N, V);
    int64_t f = blocks_round((NB + 1) * N * D) + 3 * blocks_round(N * D) + 2 * blocks_round(N) +
                2 * blocks_round(R * V);
    f += NB * blocks_round(a->block_saved(c, B, T)) + blocks_round(a->block_scratch(c, B, T));
    /* int32 tok/tgt/seg/pos and the border bytes, counted as floats */
    f += 4 * blocks_round(N) + blocks_round((N + 3) / 4);
    return f;
}

void sclaw_model_plan(const struct sclaw_config *c, int64_t B, int64_t T, int with_optim,
                      struct sclaw_mem_plan *p)
{
    struct sclaw_params np;
    sclaw_count_params(c, &np);
    p->params = np.total * 4.0;
    p->grads = np.total * 4.0; /* sclaw_model_init always allocates them */
    p->optim = with_optim ? 2.0 * np.total * 4.0 : 0;
    p->acts = c->arch->block_saved ? (double)acts_floats(c, B, T) * 4.0 : 0;
    p->total = p->params + p->grads + p->optim + p->acts;
}

void sclaw_model_free(struct sclaw_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->lp);
    free(m->lg);
    free(m->acts);
    free(m->saved);
    free(m->views);
    sclaw_tensor_table_free(&m->tt);
    memset(m, 0, sizeof *m);
}

int sclaw_model_init(struct sclaw_model *m, const struct sclaw_config *c)
{
    int st;
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->arch = c->arch;
    m->doc_reset = 1;
    if (m->arch->check_trainable && (st = m->arch->check_trainable(c)))
        return st;
    if ((st = sclaw_model_table(c, &m->tt)))
        return st;
    const int64_t NB = c->num_blocks;
    m->nbt = m->arch->block_ntensors;
    m->params = sclaw_alloc_floats(m->tt.numel);
    m->grads = sclaw_alloc_floats(m->tt.numel);
    m->lp = calloc((size_t)(NB * m->nbt + 1), sizeof *m->lp);
    m->lg = calloc((size_t)(NB * m->nbt + 1), sizeof *m->lg);
    if (!m->params || !m->grads || !m->lp || !m->lg) {
        double gb = 2.0 * (double)m->tt.numel * 4.0 / (1 << 30);
        sclaw_model_free(m);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory: parameters and gradients need %.2f GiB",
                          gb);
    }
    /* per-layer views, built once: the k-th tensor of block l */
    int64_t k = 0;
    for (int64_t i = 0; i < m->tt.n; i++) {
        const struct sclaw_tensor_info *t = &m->tt.t[i];
        if (t->layer < 0)
            continue;
        m->lp[k] = m->params + t->offset;
        m->lg[k] = m->grads + t->offset;
        k++;
    }
    SCLAW_ASSERT(k == NB * m->nbt);
    const struct sclaw_tensor_info
        *t0 = &m->tt.t[sclaw_tensor_table_find(&m->tt, m->arch->embedding_name)],
        *tn = &m->tt.t[sclaw_tensor_table_find(&m->tt, m->arch->out_norm_name)],
        *th = &m->tt.t[sclaw_tensor_table_find(&m->tt, "lm_head.weight")];
    m->emb = m->params + t0->offset;
    m->demb = m->grads + t0->offset;
    m->out_norm = m->params + tn->offset;
    m->dout_norm = m->grads + tn->offset;
    m->head = m->params + th->offset;
    m->dhead = m->grads + th->offset;
    return SCLAW_OK;
}

void sclaw_model_init_params(struct sclaw_model *m, uint64_t seed)
{
    sclaw_tensor_table_init(&m->tt, m->params, seed);
}

int sclaw_model_reserve(struct sclaw_model *m, int64_t B, int64_t T)
{
    const struct sclaw_config *c = &m->cfg;
    const struct sclaw_arch *a = m->arch;
    const int64_t N = B * T, D = c->embedding_dim, V = c->vocab_size, NB = c->num_blocks;
    if (B < 1 || T < 1)
        return sclaw_fail(SCLAW_E_ARG, "batch shape %lld x %lld is empty", (long long)B,
                          (long long)T);
    if (m->acts && m->B == B && m->T == T)
        return SCLAW_OK;
    free(m->acts);
    free(m->saved);
    free(m->views);
    m->acts = NULL;
    m->saved = NULL;
    m->views = NULL;
    m->B = m->T = 0;
    int64_t total = acts_floats(c, B, T);
    m->acts = sclaw_alloc_floats(total);
    m->saved = calloc((size_t)NB + 1, sizeof *m->saved);
    m->views = calloc((size_t)NB + 1, a->block_view_bytes);
    if (!m->acts || !m->saved || !m->views) {
        free(m->acts);
        free(m->saved);
        free(m->views);
        m->acts = NULL;
        m->saved = NULL;
        m->views = NULL;
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory: activations for batch %lld x %lld need "
                                         "%.2f GiB",
                          (long long)B, (long long)T, (double)total * 4.0 / (1 << 30));
    }
    m->acts_floats = total;
    float *at = m->acts;
    m->head_rows = head_rows(N, V);
    m->resid = blocks_take(&at, (NB + 1) * N * D);
    m->xf = blocks_take(&at, N * D);
    m->dres = blocks_take(&at, N * D);
    m->dxf = blocks_take(&at, N * D);
    m->rstd_f = blocks_take(&at, N);
    m->losses = blocks_take(&at, N);
    m->logit_raw = blocks_take(&at, m->head_rows * V);
    m->logit = blocks_take(&at, m->head_rows * V);
    for (int64_t l = 0; l < NB; l++)
        m->saved[l] = blocks_take(&at, a->block_saved(c, B, T));
    m->scratch = blocks_take(&at, a->block_scratch(c, B, T));
    m->tok = (int32_t *)blocks_take(&at, N);
    m->tgt = (int32_t *)blocks_take(&at, N);
    m->seg = (int32_t *)blocks_take(&at, N);
    m->pos = (int32_t *)blocks_take(&at, N);
    m->border = (uint8_t *)blocks_take(&at, (N + 3) / 4);
    SCLAW_ASSERT(at <= m->acts + total);
    for (int64_t l = 0; l < NB; l++)
        a->block_bind(c, B, T, m->saved[l], m->scratch,
                      (char *)m->views + (size_t)l * a->block_view_bytes);
    m->B = B;
    m->T = T;
    return SCLAW_OK;
}

/* Copy the batch in, check token ids, derive borders and positions. */
static int load_batch(struct sclaw_model *m, const struct sclaw_lm_batch *b)
{
    const int64_t V = m->cfg.vocab_size, T = b->T, N = b->B * b->T;
    if (!m->acts)
        return sclaw_fail(SCLAW_E_ARG, "model activations not reserved");
    if (b->T != m->T || b->B < 1 || b->B > m->B)
        return sclaw_fail(SCLAW_E_SHAPE, "batch %lld x %lld does not fit the reserved %lld x %lld",
                          (long long)b->B, (long long)b->T, (long long)m->B, (long long)m->T);
    for (int64_t n = 0; n < N; n++) {
        int32_t x = b->inputs[n], y = b->targets[n];
        if (x < 0 || x >= V)
            return sclaw_fail(SCLAW_E_ARG,
                              "token id %d at row %lld position %lld is outside the vocabulary "
                              "(%lld)",
                              x, (long long)(n / T), (long long)(n % T), (long long)V);
        if (y >= V)
            return sclaw_fail(SCLAW_E_ARG,
                              "target id %d at row %lld position %lld is outside the vocabulary "
                              "(%lld)",
                              y, (long long)(n / T), (long long)(n % T), (long long)V);
    }
    m->nB = b->B;
    memcpy(m->tok, b->inputs, (size_t)N * sizeof *m->tok);
    memcpy(m->tgt, b->targets, (size_t)N * sizeof *m->tgt);
    m->has_seg = b->seg != NULL && m->doc_reset;
    /* a border starts a document: position 0 of a row, or a change of
     * segment id (JAX dataset/batch.py); positions restart there */
    for (int64_t r = 0; r < b->B; r++)
        for (int64_t t = 0; t < T; t++) {
            int64_t n = r * T + t;
            int32_t s = m->has_seg ? b->seg[n] : 0;
            m->seg[n] = s;
            int brd = t == 0 || s != m->seg[n - 1];
            m->border[n] = (uint8_t)brd;
            m->pos[n] = brd ? 0 : m->pos[n - 1] + 1;
        }
    return SCLAW_OK;
}

/* Embedding, blocks, final norm. Every block's input stays in the residual
 * stream buffer resid[l] (it is the x of that block's backward), so the
 * stream costs (NB+1) B T D floats and no block has to save its input. */
static void forward_body(struct sclaw_model *m)
{
    const struct sclaw_arch *a = m->arch;
    const int64_t D = m->cfg.embedding_dim, NB = m->cfg.num_blocks, N = m->nB * m->T;
    const int64_t stride = m->B * m->T * D; /* residual slots are sized for the reserved B */
    float *x0 = m->resid;
    for (int64_t n = 0; n < N; n++)
        memcpy(x0 + n * D, m->emb + (int64_t)m->tok[n] * D, (size_t)D * sizeof *x0);
    for (int64_t l = 0; l < NB; l++)
        a->block_forward(m, l, (const char *)m->views + (size_t)l * a->block_view_bytes,
                         m->resid + l * stride, m->resid + (l + 1) * stride);
    sclaw_rmsnorm_forward(m->xf, m->rstd_f, m->resid + NB * stride, m->out_norm, N, D,
                          SCLAW_NORM_EPS);
}

/* LM head + loss over rows [r0, r0+R): raw = xf W^T, logit = cap tanh(raw/cap)
 * (or raw), losses = CE. With grad: dlogits (scaled by dscale = 1/ntok) into
 * dxf and dhead. */
static void head_chunk(struct sclaw_model *m, int64_t r0, int64_t R, int grad, float dscale)
{
    const int64_t D = m->cfg.embedding_dim, V = m->cfg.vocab_size;
    const float cap = (float)m->arch->logit_softcap;
    const float *xf = m->xf + r0 * D;
    float *z = m->logit;
    if (cap > 0) {
        sclaw_matmul_forward(m->logit_raw, xf, m->head, R, D, V, 0);
        sclaw_softcap_forward(z, m->logit_raw, R * V, cap);
    } else {
        sclaw_matmul_forward(z, xf, m->head, R, D, V, 0);
    }
    sclaw_xent_forward(m->losses + r0, z, m->tgt + r0, R, V);
    if (!grad)
        return;
    float dloss[256];
    for (int64_t s = 0; s < R; s += 256) {
        /* the kernel scales each row by dloss[n]; chunk the scale array */
        int64_t k = R - s < 256 ? R - s : 256;
        for (int64_t j = 0; j < k; j++)
            dloss[j] = dscale;
        sclaw_xent_backward_inplace(z + s * V, dloss, m->tgt + r0 + s, k, V);
    }
    if (cap > 0) {
        /* logit = cap tanh(raw / cap): draw = dlogit (1 - (logit/cap)^2). The
         * capped values are gone (overwritten by dlogit), so recompute them
         * from the saved raw logits. */
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < R * V; i++) {
            float y = tanhf(m->logit_raw[i] / cap);
            z[i] *= 1.0f - y * y;
        }
    }
    sclaw_matmul_backward(m->dxf + r0 * D, m->dhead, z, xf, m->head, R, D, V);
}

static double sum_losses(const struct sclaw_model *m, int64_t N, int64_t *ntok)
{
    double s = 0;
    int64_t k = 0;
    for (int64_t n = 0; n < N; n++)
        if (m->tgt[n] >= 0) {
            s += m->losses[n];
            k++;
        }
    *ntok = k;
    return s;
}

int sclaw_model_forward(struct sclaw_model *m, const struct sclaw_lm_batch *b, double *loss,
                        int64_t *ntok)
{
    int st;
    if ((st = load_batch(m, b)))
        return st;
    const int64_t N = m->nB * m->T;
    forward_body(m);
    for (int64_t r = 0; r < N; r += m->head_rows)
        head_chunk(m, r, N - r < m->head_rows ? N - r : m->head_rows, 0, 0);
    int64_t k;
    double s = sum_losses(m, N, &k);
    *loss = k ? s / (double)k : 0.0;
    if (ntok)
        *ntok = k;
    return SCLAW_OK;
}

/* Order of work: zero grads; forward through the blocks; the head fused with
 * its backward, chunk by chunk (d loss_n / d logits needs only the row's own
 * softmax, and the mean's 1/k is known before the losses are); the final
 * norm's backward; blocks in reverse, each turning dL/dy into dL/dx in the
 * one dres buffer; last, the embedding's scatter-add. */
int sclaw_model_forward_backward(struct sclaw_model *m, const struct sclaw_lm_batch *b,
                                 double *loss, int64_t *ntok)
{
    int st;
    const struct sclaw_arch *a = m->arch;
    if ((st = load_batch(m, b)))
        return st;
    const int64_t D = m->cfg.embedding_dim, NB = m->cfg.num_blocks, N = m->nB * m->T;
    const int64_t stride = m->B * m->T * D;
    int64_t k = 0;
    for (int64_t n = 0; n < N; n++)
        k += m->tgt[n] >= 0;
    /* d(mean loss)/d(loss_n) = 1/k for every valid target */
    float dscale = k ? 1.0f / (float)k : 0.0f;

    memset(m->grads, 0, (size_t)m->tt.numel * sizeof *m->grads);
    forward_body(m);
    /* the head's forward and backward run chunk by chunk so only (R, V)
     * logits ever exist */
    memset(m->dxf, 0, (size_t)(N * D) * sizeof *m->dxf);
    for (int64_t r = 0; r < N; r += m->head_rows)
        head_chunk(m, r, N - r < m->head_rows ? N - r : m->head_rows, 1, dscale);
    double s = sum_losses(m, N, &k);
    *loss = k ? s / (double)k : 0.0;
    if (ntok)
        *ntok = k;

    /* final norm: xf = RMSNorm(resid[NB]) */
    memset(m->dres, 0, (size_t)(N * D) * sizeof *m->dres);
    sclaw_rmsnorm_backward(m->dres, m->dout_norm, m->dxf, m->resid + NB * stride, m->out_norm,
                           m->rstd_f, N, D);
    for (int64_t l = NB - 1; l >= 0; l--)
        a->block_backward(m, l, (const char *)m->views + (size_t)l * a->block_view_bytes,
                          m->resid + l * stride, m->dres);
    /* embedding: x0[n] = E[tok[n]]  =>  dE[tok[n]] += dx0[n]  (serial: a
     * token may repeat, and a fixed order keeps runs bit-reproducible) */
    for (int64_t n = 0; n < N; n++) {
        float *de = m->demb + (int64_t)m->tok[n] * D;
        const float *dx = m->dres + n * D;
        for (int64_t j = 0; j < D; j++)
            de[j] += dx[j];
    }
    return SCLAW_OK;
}
