/* safetensors.c - strict safetensors reader and atomic writer
 * (sclaw_safetensors.h). The JSON header is parsed with Jansson. */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_io.h"
#include "sclaw_safetensors.h"
#include "sclaw_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A header larger than this is certainly not ours (and not sane). */
#define MAX_HEADER (100u << 20)

static int dtype_size(const char *d)
{
    static const struct {
        const char *name;
        int size;
    } types[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
                 {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4},
                 {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(types[i].name, d))
            return types[i].size;
    return 0;
}

static int host_is_little_endian(void)
{
    uint32_t x = 1;
    return *(unsigned char *)&x == 1;
}

void sclaw_st_close(struct sclaw_st_file *f)
{
    if (f->fp)
        fclose(f->fp);
    for (int64_t i = 0; i < f->n; i++)
        free(f->e[i].name);
    free(f->e);
    free(f->path);
    if (f->metadata)
        json_decref(f->metadata);
    memset(f, 0, sizeof *f);
}

static int cmp_begin(const void *a, const void *b)
{
    const struct sclaw_st_entry *x = *(const struct sclaw_st_entry *const *)a;
    const struct sclaw_st_entry *y = *(const struct sclaw_st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Validate one header entry "name": {...} into e. */
static int parse_entry(struct sclaw_st_entry *e, const char *path, const char *name,
                       const json_t *v, uint64_t data_size)
{
    if (!json_is_object(v))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': header entry is not an object", path,
                          name);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': unknown key '%s'", path, name, key);
    }
    const json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
                 *off = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !sh || !off)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: tensor '%s': needs 'dtype' (string), 'shape' and 'data_offsets'",
                          path, name);
    int dsz = dtype_size(json_string_value(dt));
    if (!dsz)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name,
                          json_string_value(dt));
    snprintf(e->dtype, sizeof e->dtype, "%s", json_string_value(dt));
    if (!json_is_array(sh) || json_array_size(sh) > SCLAW_ST_MAXDIM)
        return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': 'shape' must be an array of at most %d sizes",
                          path, name, SCLAW_ST_MAXDIM);
    e->ndim = (int)json_array_size(sh);
    e->numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        const json_t *x = json_array_get(sh, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) > ((int64_t)1 << 40))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': bad size in 'shape'", path, name);
        e->shape[d] = json_integer_value(x);
        e->numel *= e->shape[d];
        if (e->numel > ((int64_t)1 << 40))
            return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': shape too large", path, name);
    }
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        !json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': 'data_offsets' must be [begin, end]",
                          path, name);
    json_int_t b = json_integer_value(json_array_get(off, 0)),
               en = json_integer_value(json_array_get(off, 1));
    if (b < 0 || en < b || (uint64_t)en > data_size)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: tensor '%s': data_offsets [%lld, %lld] outside the data section "
                          "(%llu bytes)",
                          path, name, (long long)b, (long long)en, (unsigned long long)data_size);
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    if (e->end - e->begin != (uint64_t)e->numel * (uint64_t)dsz)
        return sclaw_fail(SCLAW_E_FORMAT,
                          "%s: tensor '%s': %llu data bytes do not match shape and dtype (%llu)",
                          path, name, (unsigned long long)(e->end - e->begin),
                          (unsigned long long)e->numel * (unsigned long long)dsz);
    return SCLAW_OK;
}

int sclaw_st_open(struct sclaw_st_file *f, const char *path)
{
    int st = SCLAW_OK;
    char *hdr = NULL;
    json_t *root = NULL;
    struct sclaw_st_entry **sorted = NULL;
    unsigned char len8[8];
    struct stat sb;

    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    f->fp = fopen(path, "rb");
    if (!f->fp) {
        st = sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(f->fp), &sb) != 0) {
        st = sclaw_fail(SCLAW_E_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto done;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (fsize < 8 || fread(len8, 1, 8, f->fp) != 8) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: too short for a safetensors file", path);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    if (hlen < 2 || hlen > MAX_HEADER || hlen > fsize - 8) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: header length %llu does not fit the file (%llu bytes)",
                        path, (unsigned long long)hlen, (unsigned long long)fsize);
        goto done;
    }
    hdr = malloc(hlen);
    if (!hdr) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    if (fread(hdr, 1, hlen, f->fp) != hlen) {
        st = sclaw_fail(SCLAW_E_IO, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (hdr[0] != '{') {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: header is not a JSON object", path);
        goto done;
    }
    json_error_t jerr;
    root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: bad JSON header: %s", path,
                        root ? "not an object" : jerr.text);
        goto done;
    }
    f->data_start = 8 + hlen;
    f->data_size = fsize - f->data_start;
    f->e = calloc(json_object_size(root) + 1, sizeof *f->e);
    if (!f->e) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                st = sclaw_fail(SCLAW_E_FORMAT, "%s: '__metadata__' is not an object", path);
                goto done;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv)
            {
                if (!json_is_string(mv)) {
                    st = sclaw_fail(SCLAW_E_FORMAT, "%s: '__metadata__' value '%s' is not a string",
                                    path, mk);
                    goto done;
                }
            }
            f->metadata = json_incref(val);
            continue;
        }
        struct sclaw_st_entry *e = &f->e[f->n];
        if ((st = parse_entry(e, path, key, val, f->data_size)))
            goto done;
        if (!(e->name = strdup(key))) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
        f->n++;
    }
    /* The tensors must tile the data section exactly: no overlap, no hole,
     * nothing after the last one. */
    sorted = malloc((size_t)(f->n + 1) * sizeof *sorted);
    if (!sorted) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    for (int64_t i = 0; i < f->n; i++)
        sorted[i] = &f->e[i];
    qsort(sorted, (size_t)f->n, sizeof *sorted, cmp_begin);
    uint64_t at = 0;
    for (int64_t i = 0; i < f->n; i++) {
        if (sorted[i]->begin < at) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: tensors '%s' and '%s' overlap", path,
                            sorted[i - 1]->name, sorted[i]->name);
            goto done;
        }
        if (sorted[i]->begin > at) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: unused bytes %llu..%llu before tensor '%s'", path,
                            (unsigned long long)at, (unsigned long long)sorted[i]->begin,
                            sorted[i]->name);
            goto done;
        }
        at = sorted[i]->end;
    }
    if (at != f->data_size) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: data section has %llu bytes, tensors cover %llu",
                        path, (unsigned long long)f->data_size, (unsigned long long)at);
        goto done;
    }
done:
    free(sorted);
    free(hdr);
    if (root)
        json_decref(root);
    if (st)
        sclaw_st_close(f);
    return st;
}

int64_t sclaw_st_find(const struct sclaw_st_file *f, const char *name)
{
    for (int64_t i = 0; i < f->n; i++)
        if (!strcmp(f->e[i].name, name))
            return i;
    return -1;
}

int sclaw_st_read(const struct sclaw_st_file *f, int64_t idx, float *out)
{
    const struct sclaw_st_entry *e = &f->e[idx];
    if (strcmp(e->dtype, "F32"))
        return sclaw_fail(SCLAW_E_FORMAT, "%s: tensor '%s': dtype %s is not supported (F32 only)",
                          f->path, e->name, e->dtype);
    if (!host_is_little_endian())
        return sclaw_fail(SCLAW_E_FORMAT, "%s: big-endian hosts are not supported", f->path);
    if (fseeko(f->fp, (off_t)(f->data_start + e->begin), SEEK_SET) != 0 ||
        fread(out, sizeof(float), (size_t)e->numel, f->fp) != (size_t)e->numel)
        return sclaw_fail(SCLAW_E_IO, "cannot read tensor '%s' from '%s'", e->name, f->path);
    return SCLAW_OK;
}

int sclaw_st_write(const char *path, const struct sclaw_st_tensor *t, int64_t n,
                   const json_t *metadata)
{
    int st = SCLAW_OK;
    char *hdr = NULL;
    struct sclaw_atomic a = {0};
    json_t *root = json_object();
    if (!root)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    if (!host_is_little_endian()) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: big-endian hosts are not supported", path);
        goto done;
    }
    if (metadata)
        json_object_set_new(root, "__metadata__", json_deep_copy(metadata));
    uint64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        json_t *sh = json_array();
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            json_array_append_new(sh, json_integer(t[i].shape[d]));
            numel *= t[i].shape[d];
        }
        uint64_t bytes = (uint64_t)numel * sizeof(float);
        json_t *e = json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", sh, "data_offsets",
                              (json_int_t)at, (json_int_t)(at + bytes));
        if (!e || json_object_set_new(root, t[i].name, e)) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory writing '%s'", path);
            goto done;
        }
        at += bytes;
    }
    hdr = json_dumps(root, JSON_COMPACT);
    if (!hdr) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    /* pad the header with spaces so the data starts 8-byte aligned */
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if ((st = sclaw_atomic_open(&a, path, "wb")))
        goto done;
    fwrite(len8, 1, 8, a.fp);
    fwrite(hdr, 1, hlen, a.fp);
    for (size_t i = hlen; i < padded; i++)
        fputc(' ', a.fp);
    for (int64_t i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++)
            numel *= t[i].shape[d];
        if (fwrite(t[i].data, sizeof(float), (size_t)numel, a.fp) != (size_t)numel) {
            st = sclaw_fail(SCLAW_E_IO, "cannot write '%s': %s", path, strerror(errno));
            goto done;
        }
    }
    st = sclaw_atomic_commit(&a);
done:
    sclaw_atomic_abort(&a);
    free(hdr);
    json_decref(root);
    return st;
}

int sclaw_st_save_table(const char *path, const struct sclaw_tensor_table *tt, const float *buf,
                        const char *prefix, const json_t *metadata)
{
    struct sclaw_st_tensor *t = calloc((size_t)tt->n + 1, sizeof *t);
    char (*names)[SCLAW_TENSOR_NAME_MAX + 32] = calloc((size_t)tt->n + 1, sizeof *names);
    int st;
    if (!t || !names) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    for (int64_t i = 0; i < tt->n; i++) {
        snprintf(names[i], sizeof names[i], "%s%s", prefix, tt->t[i].name);
        t[i] = (struct sclaw_st_tensor){names[i], tt->t[i].ndim, tt->t[i].shape,
                                        buf + tt->t[i].offset};
    }
    st = sclaw_st_write(path, t, tt->n, metadata);
done:
    free(t);
    free(names);
    return st;
}

static char *shape_of(const struct sclaw_st_entry *e, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < e->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)e->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int sclaw_st_load_table(const char *path, const struct sclaw_tensor_table *tt, float *buf,
                        const char *prefix)
{
    struct sclaw_st_file f;
    int st = sclaw_st_open(&f, path);
    if (st)
        return st;
    size_t plen = strlen(prefix);
    /* every file tensor must belong to the table */
    for (int64_t i = 0; i < f.n; i++) {
        const char *nm = f.e[i].name;
        if (strncmp(nm, prefix, plen) || sclaw_tensor_table_find(tt, nm + plen) < 0) {
            st = sclaw_fail(SCLAW_E_SHAPE, "%s: unexpected tensor '%s' (not in the model config)",
                            path, nm);
            goto done;
        }
    }
    for (int64_t i = 0; i < tt->n; i++) {
        const struct sclaw_tensor_info *t = &tt->t[i];
        char name[SCLAW_TENSOR_NAME_MAX + 32], want[64], got[96];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        int64_t k = sclaw_st_find(&f, name);
        if (k < 0) {
            st = sclaw_fail(SCLAW_E_SHAPE, "%s: missing tensor '%s' %s", path, name,
                            sclaw_tensor_shape_str(t, want, sizeof want));
            goto done;
        }
        const struct sclaw_st_entry *e = &f.e[k];
        int same = e->ndim == t->ndim && e->shape[0] == t->shape[0] &&
                   (t->ndim == 1 || e->shape[1] == t->shape[1]);
        if (!same) {
            st = sclaw_fail(SCLAW_E_SHAPE, "%s: tensor '%s': shape %s, config says %s", path, name,
                            shape_of(e, got, sizeof got),
                            sclaw_tensor_shape_str(t, want, sizeof want));
            goto done;
        }
        if ((st = sclaw_st_read(&f, k, buf + t->offset)))
            goto done;
    }
done:
    sclaw_st_close(&f);
    return st;
}
