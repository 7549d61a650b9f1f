/* sclaw_safetensors.h - checkpoints in the safetensors format.
 *
 * Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * unsigned header length N, N bytes of JSON header, then the data. The header
 * maps each tensor name to {"dtype": "F32", "shape": [..], "data_offsets":
 * [begin, end]} (byte offsets into the data section) and may hold a
 * "__metadata__" object of string values. sclaw writes F32 only, tensors in
 * tensor-table order, the header padded with spaces to a multiple of 8 bytes.
 *
 * Reading is strict: a short file, a header length past the end, JSON that is
 * not an object, unknown keys, bad dtype/shape/offsets, offsets that overlap,
 * leave holes, or do not cover the data section exactly, a byte count that does
 * not match the shape: each is SCLAW_E_FORMAT with a message naming the file
 * (and the tensor). Only F32 tensors can be loaded into a model.
 *
 * Names: the tensor table's names (sclaw_model.h lists the mapping), so a
 * checkpoint can be opened by Hugging Face `safetensors` directly.
 */
#ifndef SCLAW_SAFETENSORS_H
#define SCLAW_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "sclaw_tensor.h"

#define SCLAW_ST_MAXDIM 8

struct sclaw_st_entry {
    char *name;
    char dtype[8];     /* "F32", "BF16", ... as in the file */
    int ndim;
    int64_t shape[SCLAW_ST_MAXDIM];
    int64_t numel;
    uint64_t begin, end; /* byte range in the data section */
};

struct sclaw_st_file {
    char *path;
    FILE *fp;
    uint64_t data_start;     /* file offset of the data section (8 + N) */
    uint64_t data_size;
    int64_t n;
    struct sclaw_st_entry *e; /* [n] in header order */
    json_t *metadata;        /* "__metadata__" object or NULL (owned) */
};

/* Open and validate a file; keeps it open for sclaw_st_read. */
int sclaw_st_open(struct sclaw_st_file *f, const char *path);
/* Index of a tensor by name or -1. */
int64_t sclaw_st_find(const struct sclaw_st_file *f, const char *name);
/* Read tensor idx (F32 only) into out[numel]. */
int sclaw_st_read(const struct sclaw_st_file *f, int64_t idx, float *out);
/* Close and release (safe on a zeroed struct). */
void sclaw_st_close(struct sclaw_st_file *f);

/* One tensor to write: data has shape[0]*...*shape[ndim-1] floats. */
struct sclaw_st_tensor {
    const char *name;
    int ndim;
    const int64_t *shape;
    const float *data;
};
/* Write tensors atomically; metadata (string values only) may be NULL. */
int sclaw_st_write(const char *path, const struct sclaw_st_tensor *t, int64_t n,
                   const json_t *metadata);

/* Save the tensors of a table from a flat buffer laid out by it; each name is
 * prefixed with `prefix` ("" for the model, "exp_avg." for Adam m, ...). */
int sclaw_st_save_table(const char *path, const struct sclaw_tensor_table *tt, const float *buf,
                        const char *prefix, const json_t *metadata);
/* Load every tensor of the table from path into buf. The file must hold
 * exactly the table's tensors (with the prefix), F32, same shapes: a missing,
 * extra or differently shaped tensor is SCLAW_E_SHAPE / SCLAW_E_FORMAT naming
 * the file, the tensor and both shapes. */
int sclaw_st_load_table(const char *path, const struct sclaw_tensor_table *tt, float *buf,
                        const char *prefix);

#endif
