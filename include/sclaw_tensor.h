/* sclaw_tensor.h - the tensor table: one plan of every parameter of a model.
 *
 * A model's parameters live in ONE flat float32 buffer. The tensor table is a
 * pure function of the config (built by the family's add_tensors op,
 * sclaw_arch.h): for each parameter tensor it records the name, shape, offset
 * into the flat buffer, whether AdamW decays it and how it is initialised.
 * That one table drives everything that needs to know about parameters
 * (style.md §2.4):
 *   - the parameter count (== sclaw_count_params, tested),
 *   - initialisation (sclaw_tensor_table_init),
 *   - safetensors names, save and load (sclaw_safetensors.h),
 *   - gradient checks (tests iterate over the table),
 *   - AdamW (grads, m and v have the same layout as the params, so the
 *     optimiser is one flat loop; the decay flag is expanded once into a mask).
 *
 * Tensors are contiguous and row-major; linear weights have the PyTorch layout
 * (out, in). Offsets are counted in floats and are not padded, so
 * table.numel == number of parameters.
 */
#ifndef SCLAW_TENSOR_H
#define SCLAW_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define SCLAW_TENSOR_NAME_MAX 96
#define SCLAW_TENSOR_MAXDIM 2

/* Initialisation rules (models.md §1.3, §2). */
enum sclaw_init {
    SCLAW_INIT_NORMAL = 0, /* N(0, a^2): a = sqrt(2/(5D)) (small) or 2/(NB sqrt(D)) (wang) */
    SCLAW_INIT_CONST,      /* every element = a (0 for gate weights, 1 for norm scales, -10 igate bias) */
    SCLAW_INIT_LINSPACE    /* element j of n = a + (b - a) j / (n - 1)  (fgate bias 3..6) */
};

struct sclaw_tensor_info {
    char name[SCLAW_TENSOR_NAME_MAX]; /* safetensors name, e.g. "lm_head.weight" */
    int ndim;                         /* 1 or 2 */
    int64_t shape[SCLAW_TENSOR_MAXDIM];
    int64_t offset;                   /* first element in the flat buffer (floats) */
    int64_t numel;
    int decay;                        /* 1: AdamW weight decay applies (matrices except the embedding) */
    enum sclaw_init init;
    double a, b;                      /* init parameters, see enum sclaw_init */
    int64_t layer;                    /* block index, -1 for embedding / final norm / head */
};

struct sclaw_tensor_table {
    int64_t n, cap;
    struct sclaw_tensor_info *t;  /* [n] in buffer order */
    int64_t numel;                /* total floats = parameter count */
};

/* Append a tensor at the current end of the buffer. shape[1] is ignored when
 * ndim == 1. Names must be unique (SCLAW_E_ARG otherwise). */
int sclaw_tensor_table_add(struct sclaw_tensor_table *tt, const char *name, int ndim,
                           int64_t d0, int64_t d1, int decay, enum sclaw_init init, double a,
                           double b, int64_t layer);
/* Index of a tensor by name, -1 if absent. */
int64_t sclaw_tensor_table_find(const struct sclaw_tensor_table *tt, const char *name);
/* Release the table (safe on a zeroed struct). */
void sclaw_tensor_table_free(struct sclaw_tensor_table *tt);

/* Fill params (tt->numel floats) by the table's init rules. Each tensor draws
 * from its own stream derived from (seed, tensor name), so a tensor's values do
 * not depend on which other tensors exist or their order. */
void sclaw_tensor_table_init(const struct sclaw_tensor_table *tt, float *params, uint64_t seed);
/* "[64,128]" into buf. */
char *sclaw_tensor_shape_str(const struct sclaw_tensor_info *t, char *buf, size_t n);

/* 64-byte aligned allocation of n floats, zeroed; NULL if out of memory.
 * Release with free(). */
float *sclaw_alloc_floats(int64_t n);

#endif
