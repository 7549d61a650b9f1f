/* tok_files.c - the GPT-2 tokenizer files in both directions: encoder.json
 * (token string -> id, strings in GPT-2's byte-to-unicode alphabet), vocab.bpe
 * ("#version: 0.2", then one merge "A B" per line in rank order) and sclaw's
 * tokenizer.json (metadata: sizes, special tokens, content hash), see
 * sclaw_data.h (issue 5). Loading validates everything and names the file and
 * the key or line at fault; the tokenizer itself is built by sclaw_tok_init. */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_data.h"
#include "sclaw_io.h"
#include "sclaw_status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Token bytes -> its string in the byte-to-unicode alphabet (UTF-8, NUL
 * terminated) into buf (needs 2 * len + 1 bytes). */
static void to_alphabet(const uint8_t *b, int64_t len, char *buf)
{
    char *p = buf;
    for (int64_t i = 0; i < len; i++) {
        int32_t cp = sclaw_tok_byte_to_cp(b[i]);
        if (cp < 0x80) {
            *p++ = (char)cp;
        } else {
            *p++ = (char)(0xc0 | (cp >> 6));
            *p++ = (char)(0x80 | (cp & 0x3f));
        }
    }
    *p = '\0';
}

/* A string of the alphabet -> bytes (out needs strlen(s) bytes); returns the
 * byte count, or -1 if some character stands for no byte. s is valid UTF-8
 * (Jansson checks). */
static int64_t from_alphabet(const char *s, size_t n, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    int64_t j = 0;
    while (p < end) {
        int32_t cp;
        if (p[0] < 0x80) {
            cp = p[0];
            p += 1;
        } else if ((p[0] & 0xe0) == 0xc0 && p + 1 < end) {
            cp = ((p[0] & 0x1f) << 6) | (p[1] & 0x3f);
            p += 2;
        } else {
            return -1;  /* three- and four-byte characters are outside the alphabet */
        }
        int b = sclaw_tok_cp_to_byte(cp);
        if (b < 0)
            return -1;
        out[j++] = (uint8_t)b;
    }
    return j;
}

static int is_special_name(const char *s, size_t n)
{
    return n >= 4 && !strncmp(s, "<|", 2) && !strncmp(s + n - 2, "|>", 2);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int read_all(const char *path, char **out, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    *out = NULL;
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf)
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", path);
    if (err) {
        free(buf);
        return sclaw_fail(SCLAW_E_IO, "cannot read '%s'", path);
    }
    buf[len] = '\0';
    *out = buf;
    *n = len;
    return SCLAW_OK;
}

int sclaw_tok_load(struct sclaw_tokenizer *t, const char *dir)
{
    char *enc_path = join(dir, "encoder.json"), *bpe_path = join(dir, "vocab.bpe");
    char *meta_path = join(dir, "tokenizer.json");
    json_t *enc = NULL, *meta = NULL, *specials = NULL;
    char *bpe = NULL, *tmp = NULL;
    size_t bpe_len = 0;
    uint8_t **tokens = NULL, *special = NULL;
    int64_t *lens = NULL, V = 0, nm = 0, mcap = 0;
    int32_t *merges = NULL;
    int st = SCLAW_OK;
    memset(t, 0, sizeof *t);
    if (!enc_path || !bpe_path || !meta_path) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        st = sclaw_fail(SCLAW_E_IO, "tokenizer '%s' is not a directory (want encoder.json + vocab.bpe)", dir);
        goto done;
    }
    if ((st = sclaw_json_load(enc_path, &enc)))
        goto done;
    if (!json_is_object(enc)) {
        st = sclaw_fail(SCLAW_E_FORMAT, "%s: not a JSON object of token -> id", enc_path);
        goto done;
    }
    if (access(meta_path, F_OK) == 0) {
        if ((st = sclaw_json_load(meta_path, &meta)))
            goto done;
        specials = json_object_get(meta, "specials");
        if (specials && !json_is_object(specials)) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: 'specials' is not an object", meta_path);
            goto done;
        }
    }
    V = (int64_t)json_object_size(enc);
    tokens = calloc((size_t)V + 1, sizeof *tokens);
    lens = calloc((size_t)V + 1, sizeof *lens);
    special = calloc((size_t)V + 1, 1);
    if (!tokens || !lens || !special) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", enc_path);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(enc, key, val) {
        size_t klen = strlen(key);
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= V) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s': id must be an integer in 0..%" PRId64
                            " (ids are dense)", enc_path, key, V - 1);
            goto done;
        }
        int64_t id = json_integer_value(val);
        if (tokens[id]) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: key '%s': id %" PRId64 " is used twice", enc_path, key, id);
            goto done;
        }
        if (!(tokens[id] = malloc(klen + 1))) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", enc_path);
            goto done;
        }
        int listed = specials ? json_object_get(specials, key) != NULL
                              : is_special_name(key, klen);
        int64_t nb = listed ? -1 : from_alphabet(key, klen, tokens[id]);
        if (nb < 0) {  /* a special token: its text is its bytes */
            memcpy(tokens[id], key, klen);
            nb = (int64_t)klen;
            special[id] = 1;
        }
        if (nb == 0) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s: empty token (id %" PRId64 ")", enc_path, id);
            goto done;
        }
        lens[id] = nb;
    }
    if (specials) {
        json_object_foreach(specials, key, val) {
            json_t *e = json_object_get(enc, key);
            if (!e || !json_is_integer(val) || json_integer_value(e) != json_integer_value(val)) {
                st = sclaw_fail(SCLAW_E_FORMAT, "%s: special token '%s' does not match %s",
                                meta_path, key, enc_path);
                goto done;
            }
        }
    }
    /* vocab.bpe: "#version: 0.2", then "A B" per line */
    if ((st = read_all(bpe_path, &bpe, &bpe_len)))
        goto done;
    char *line = bpe;
    int64_t lineno = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0 || (lineno == 1 && !strncmp(line, "#version", 8))) {
            line = nl ? nl + 1 : NULL;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || !sp[1] || strchr(sp + 1, ' ')) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s:%" PRId64 ": expected two tokens separated by one "
                            "space, got '%s'", bpe_path, lineno, line);
            goto done;
        }
        *sp = '\0';
        json_t *a = json_object_get(enc, line), *b = json_object_get(enc, sp + 1);
        if (!a || !b) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s:%" PRId64 ": token '%s' is not in encoder.json",
                            bpe_path, lineno, a ? sp + 1 : line);
            goto done;
        }
        size_t la = strlen(line), lb = strlen(sp + 1);
        free(tmp);
        if (!(tmp = malloc(la + lb + 1))) {
            st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", bpe_path);
            goto done;
        }
        memcpy(tmp, line, la);
        memcpy(tmp + la, sp + 1, lb + 1);
        json_t *ab = json_object_get(enc, tmp);
        if (!ab || special[json_integer_value(ab)]) {
            st = sclaw_fail(SCLAW_E_FORMAT, "%s:%" PRId64 ": merge result '%s' is not a token of "
                            "encoder.json", bpe_path, lineno, tmp);
            goto done;
        }
        if (nm == mcap) {
            mcap = mcap ? 2 * mcap : 1024;
            int32_t *nmg = realloc(merges, (size_t)mcap * 2 * sizeof *nmg);
            if (!nmg) {
                st = sclaw_fail(SCLAW_E_NOMEM, "out of memory reading '%s'", bpe_path);
                goto done;
            }
            merges = nmg;
        }
        merges[2 * nm] = (int32_t)json_integer_value(a);
        merges[2 * nm + 1] = (int32_t)json_integer_value(b);
        nm++;
        line = nl ? nl + 1 : NULL;
    }
    if ((st = sclaw_tok_init(t, V, (const uint8_t *const *)tokens, lens, special, nm, merges)))
        st = sclaw_wrap(st, "tokenizer '%s'", dir);
done:
    if (tokens)
        for (int64_t i = 0; i < V; i++)
            free(tokens[i]);
    free(tokens);
    free(lens);
    free(special);
    free(merges);
    free(bpe);
    free(tmp);
    json_decref(enc);
    json_decref(meta);
    free(enc_path);
    free(bpe_path);
    free(meta_path);
    return st;
}

int sclaw_tok_save(const struct sclaw_tokenizer *t, const char *dir)
{
    char *enc_path = join(dir, "encoder.json"), *bpe_path = join(dir, "vocab.bpe");
    char *meta_path = join(dir, "tokenizer.json"), *buf = NULL;
    json_t *enc = json_object(), *meta = NULL, *specials = json_object();
    struct sclaw_atomic a = {0};
    int64_t maxlen = 1;
    int st = SCLAW_OK;
    if (!enc_path || !bpe_path || !meta_path || !enc || !specials) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        st = sclaw_fail(SCLAW_E_IO, "cannot create directory '%s': %s", dir, strerror(errno));
        goto done;
    }
    for (int64_t i = 0; i < t->vocab_size; i++)
        if (t->tok_off[i + 1] - t->tok_off[i] > maxlen)
            maxlen = t->tok_off[i + 1] - t->tok_off[i];
    if (!(buf = malloc((size_t)(2 * maxlen + 1)))) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < t->vocab_size; i++) {
        const uint8_t *b = t->bytes + t->tok_off[i];
        int64_t len = t->tok_off[i + 1] - t->tok_off[i];
        if (t->is_special[i]) {
            memcpy(buf, b, (size_t)len);
            buf[len] = '\0';
            json_object_set_new(specials, buf, json_integer(i));
        } else {
            to_alphabet(b, len, buf);
        }
        if (json_object_get(enc, buf)) {
            st = sclaw_fail(SCLAW_E_FORMAT, "token %" PRId64 " ('%s') repeats token %" PRId64,
                            i, buf, (int64_t)json_integer_value(json_object_get(enc, buf)));
            goto done;
        }
        if (json_object_set_new(enc, buf, json_integer(i))) {
            st = sclaw_fail(SCLAW_E_FORMAT, "token %" PRId64 " is not valid UTF-8", i);
            goto done;
        }
    }
    if ((st = sclaw_json_write(enc_path, enc)))
        goto done;
    /* vocab.bpe in rank order */
    if ((st = sclaw_atomic_open(&a, bpe_path, "wb")))
        goto done;
    fputs("#version: 0.2\n", a.fp);
    char *lb = malloc((size_t)(4 * maxlen + 4));
    if (!lb) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t r = 0; r < t->nmerges; r++) {
        int32_t l = t->merge_left[r], rr = t->merge_right[r];
        to_alphabet(t->bytes + t->tok_off[l], t->tok_off[l + 1] - t->tok_off[l], lb);
        fputs(lb, a.fp);
        fputc(' ', a.fp);
        to_alphabet(t->bytes + t->tok_off[rr], t->tok_off[rr + 1] - t->tok_off[rr], lb);
        fputs(lb, a.fp);
        fputc('\n', a.fp);
    }
    free(lb);
    if ((st = sclaw_atomic_commit(&a)))
        goto done;
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, sclaw_tok_hash(t));
    meta = json_pack("{s:s, s:i, s:I, s:I, s:O, s:s, s:s}", "format", "sclaw-bpe", "version", 1,
                     "vocab_size", (json_int_t)t->vocab_size, "num_merges", (json_int_t)t->nmerges,
                     "specials", specials, "pretokenizer", "gpt2-ascii", "hash", hash);
    if (!meta) {
        st = sclaw_fail(SCLAW_E_NOMEM, "out of memory");
        goto done;
    }
    st = sclaw_json_write(meta_path, meta);
done:
    sclaw_atomic_abort(&a);
    if (st)
        st = sclaw_wrap(st, "saving tokenizer '%s'", dir);
    json_decref(enc);
    json_decref(meta);
    json_decref(specials);
    free(buf);
    free(enc_path);
    free(bpe_path);
    free(meta_path);
    return st;
}
