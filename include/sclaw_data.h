/* sclaw_data.h - tokenizer, corpora, token shards and the batch loader (issue 5).
 *
 * The path from text to training batches:
 *
 *   corpus (sclaw_corpus_*)   named corpus ("kjv") or text files -> documents
 *   tokenizer (sclaw_tok_*)   byte-level BPE: train, load/save in GPT-2 format, encode/decode
 *   shards (sclaw_data_*)     documents -> DIR/{train,val}_NNN.bin + DIR/meta.json
 *   loader (sclaw_loader_*)   shards -> deterministic (B, T+1) windows with segment ids
 *
 * Tokenizer. Byte-level BPE as in GPT-2: the 256 byte values are the base
 * tokens, merges join two adjacent tokens into one, and text is first split
 * into chunks (words with their leading space, digit runs, punctuation runs,
 * whitespace runs) so that merges never cross a chunk. The split follows
 * GPT-2's pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with one simplification (no Unicode tables): a letter is an ASCII letter or
 * any byte >= 0x80 (so a UTF-8 character is never split and non-ASCII scripts
 * group like letters), a digit is 0-9, whitespace is space, \t, \n, \v, \f, \r.
 * Encoding is exact and lossless for every byte sequence (binary, invalid
 * UTF-8, empty): decode(encode(x)) == x. Special tokens (the document
 * separator "<|endoftext|>") are never produced from text; they are inserted
 * by the caller (sclaw_data_prepare puts one before every document).
 *
 * On disk a tokenizer is a directory TOK holding
 *   encoder.json   {"token string": id, ...}, token strings in GPT-2's byte-to-unicode
 *                  alphabet (byte b -> one printable code point), specials verbatim
 *   vocab.bpe      "#version: 0.2" then one merge "A B" per line, in rank order
 *   tokenizer.json sclaw metadata: vocab size, merges, special tokens (optional on load)
 * which is the format of GPT-2's released files, so those load as they are and
 * a tokenizer trained here works in other tools.
 *
 * Token shards. A binary file: a 32-byte little-endian header
 *   bytes 0-7   magic "SCLAWTOK"
 *   8-11        uint32 format version (1)
 *   12-15       uint32 token width in bytes: 2 (vocab <= 65536) or 4
 *   16-23       uint64 number of tokens that follow
 *   24-27       uint32 vocab size of the tokenizer that wrote it
 *   28-31       uint32 reserved (0)
 * followed by the tokens. A split (train or val) is the concatenation of its
 * shards; every document in it starts with the separator token, so a split
 * reads  EOT d1 EOT d2 ...  and a model can reset its state at each EOT.
 *
 * Ownership: every _init/_load fills a caller-owned struct; the matching
 * _free releases it and is safe on a zeroed or half-built struct. A tokenizer
 * is not thread-safe for encoding (its word cache is mutable); decoding is.
 */
#ifndef SCLAW_DATA_H
#define SCLAW_DATA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SCLAW_TOK_EOT "<|endoftext|>"

/* ---- corpus -------------------------------------------------------------
 * The built-in default corpus "kjv" is the King James Version of the Bible
 * (1611; public domain - the copyright expired long ago, see Debian's
 * /usr/share/doc/bible-kjv-text/copyright), 4,137,850 bytes of English prose
 * in 1,189 documents (one per chapter, one verse per line, references
 * stripped). It is read from Debian's bible-kjv-text package with the `bible`
 * program of package bible-kjv (both in scripts/install-deps); the extraction
 * is deterministic and takes a fraction of a second.
 * User files are raw bytes; --docs says how they split into documents. */

/* How a text file is cut into documents. */
enum sclaw_docs {
    SCLAW_DOCS_FILE = 0,   /* each file is one document (default) */
    SCLAW_DOCS_PARAGRAPH,  /* documents are separated by one or more blank lines */
    SCLAW_DOCS_EOT         /* documents are separated by the text "<|endoftext|>" */
};
/* "file", "paragraph", "eot" -> the enum; -1 if unknown. */
int sclaw_docs_parse(const char *s);

/* Documents in memory: document i is text[off[i] .. off[i+1]). */
struct sclaw_corpus {
    char *text;        /* all documents, back to back (not NUL-separated) */
    int64_t nbytes;
    int64_t ndocs;
    int64_t *off;      /* [ndocs + 1] */
    int64_t cap_docs;
    json_t *sources;   /* array of {"name", "bytes", "documents"} per argument */
};

/* Load corpora into c. Each name is a built-in corpus name (see
 * sclaw_corpus_names; "kjv": the King James Bible, one document per chapter)
 * or a path to a file read as raw bytes and cut into documents by mode
 * (built-in corpora have their own documents). Empty documents are dropped. */
int sclaw_corpus_load(struct sclaw_corpus *c, const char *const *names, int64_t n,
                      enum sclaw_docs mode);
void sclaw_corpus_free(struct sclaw_corpus *c);
/* Built-in corpus names with a one-line description each; NULL-terminated. */
extern const char *const sclaw_corpus_names[][2];

/* ---- tokenizer ------------------------------------------------------------ */

struct sclaw_tok_cache;  /* word -> tokens cache (tokenizer.c) */

struct sclaw_tokenizer {
    int64_t vocab_size;     /* number of token ids, specials included */
    int64_t nmerges;
    /* token id -> bytes: bytes[tok_off[id] .. tok_off[id+1]) */
    uint8_t *bytes;
    int64_t *tok_off;       /* [vocab_size + 1] */
    uint8_t *is_special;    /* [vocab_size] 1 for special tokens (never merged or encoded) */
    int32_t byte_id[256];   /* id of the single-byte token of each byte value */
    int32_t eot_id;         /* id of "<|endoftext|>", or -1 if the vocabulary has none */
    /* merges in rank order: left[r] + right[r] -> result[r] */
    int32_t *merge_left, *merge_right, *merge_result;  /* [nmerges] */
    /* (left, right) -> rank, open addressing; keys 0 mean empty (see tokenizer.c) */
    uint64_t *mkeys;
    int32_t *mvals;
    int64_t mcap;           /* power of two */
    struct sclaw_tok_cache *cache;
};

/* Build a tokenizer from token byte strings and merges (the common
 * constructor behind load and train): tokens[i] of length lens[i] is id i;
 * merges are (left id, right id) pairs in rank order whose concatenation must
 * be a token; specials[i] marks special tokens. Every single byte must be a
 * token. Copies everything. */
int sclaw_tok_init(struct sclaw_tokenizer *t, int64_t vocab_size, const uint8_t *const *tokens,
                   const int64_t *lens, const uint8_t *specials, int64_t nmerges,
                   const int32_t *merges);
void sclaw_tok_free(struct sclaw_tokenizer *t);

/* Load TOK (a directory with encoder.json and vocab.bpe, GPT-2 format).
 * Errors name the file and the key or line. */
int sclaw_tok_load(struct sclaw_tokenizer *t, const char *dir);
/* Save into dir (created if missing): encoder.json, vocab.bpe, tokenizer.json,
 * each written atomically. */
int sclaw_tok_save(const struct sclaw_tokenizer *t, const char *dir);
/* 64-bit FNV-1a over the token bytes (in id order), the specials and the
 * merges: equal for equal tokenizers, whatever the file layout. */
uint64_t sclaw_tok_hash(const struct sclaw_tokenizer *t);

/* Training options. */
struct sclaw_bpe_opts {
    int64_t vocab_size;  /* target size including the 256 bytes and the separator */
    int add_eot;         /* 1: reserve the last id for "<|endoftext|>" (default in the CLI) */
    /* optional: called every 64 merges with merges done and wanted */
    void (*progress)(int64_t done, int64_t total, void *user);
    void *user;
};
/* Train byte-level BPE on the documents of c (chunks never cross documents).
 * Each step merges the most frequent adjacent pair (pair counts are updated
 * incrementally, only in the words that contain the merged pair); ties go to
 * the pair whose left token's bytes sort first (memcmp, shorter first on a
 * common prefix), then the right token's. Stops early when no pair occurs
 * twice, so the result may be smaller than asked; t->vocab_size says. */
int sclaw_bpe_train(struct sclaw_tokenizer *t, const struct sclaw_corpus *c,
                    const struct sclaw_bpe_opts *o);

/* Split text into pre-tokenisation chunks: calls fn(chunk, len, user) for
 * each, in order; the chunks concatenate to the input. Stops and returns the
 * first non-zero value fn returns. */
typedef int (*sclaw_chunk_fn)(const uint8_t *chunk, int64_t len, void *user);
int sclaw_tok_split(const uint8_t *text, int64_t n, sclaw_chunk_fn fn, void *user);

/* Encode n bytes; *ids is malloc'ed (caller frees), *nids its length. Fast
 * path: merge ranks in a hash table, a per-chunk cache, and a heap-based merge
 * for long chunks (O(n log n)). */
int sclaw_tok_encode(struct sclaw_tokenizer *t, const uint8_t *text, int64_t n, int32_t **ids,
                     int64_t *nids);
/* Same result by the plain algorithm (no cache; for each chunk repeatedly scan
 * every adjacent pair for the lowest rank, O(len^2)): the test oracle and the
 * benchmark baseline. */
int sclaw_tok_encode_ref(const struct sclaw_tokenizer *t, const uint8_t *text, int64_t n,
                         int32_t **ids, int64_t *nids);
/* Decode ids into *out (malloc'ed, caller frees; not NUL-terminated). Special
 * tokens decode to their text. An id outside [0, vocab_size) is an error
 * naming its index. */
int sclaw_tok_decode(const struct sclaw_tokenizer *t, const int32_t *ids, int64_t nids,
                     uint8_t **out, int64_t *nout);
/* Forget cached chunks (bounds memory; encoding results do not change). */
void sclaw_tok_cache_clear(struct sclaw_tokenizer *t);

/* GPT-2's byte-to-unicode alphabet: the code point standing for byte b, and
 * back (-1 if cp stands for no byte). */
int32_t sclaw_tok_byte_to_cp(uint8_t b);
int sclaw_tok_cp_to_byte(int32_t cp);

/* ---- token shards ----------------------------------------------------------- */

#define SCLAW_SHARD_MAGIC "SCLAWTOK"
#define SCLAW_SHARD_VERSION 1
#define SCLAW_SHARD_HEADER 32

/* Write tokens as one shard file (atomically); width 2 or 4 bytes. Ids must
 * fit the width. */
int sclaw_shard_write(const char *path, const int32_t *tokens, int64_t n, int64_t vocab_size);

/* A shard mapped read-only. */
struct sclaw_shard {
    char *path;
    const uint8_t *map;     /* whole file */
    size_t map_len;
    int64_t count;          /* tokens */
    int64_t width;          /* 2 or 4 */
    int64_t vocab_size;
};
/* Map and validate a shard: magic, version, width, vocab size (if
 * expect_vocab > 0), file size against count, every token < vocab size.
 * Errors name the file. */
int sclaw_shard_open(struct sclaw_shard *s, const char *path, int64_t expect_vocab);
void sclaw_shard_close(struct sclaw_shard *s);
static inline int32_t sclaw_shard_get(const struct sclaw_shard *s, int64_t i)
{
    const uint8_t *p = s->map + SCLAW_SHARD_HEADER;
    if (s->width == 2)
        return ((const uint16_t *)(const void *)p)[i];
    return (int32_t)((const uint32_t *)(const void *)p)[i];
}

struct sclaw_prepare_opts {
    double val_fraction;    /* share of documents held out (default 0.005) */
    int64_t shard_tokens;   /* at most this many tokens per shard (default 2^27) */
    const char *tokenizer_path;  /* recorded in meta.json */
    /* optional: called after each document with the corpus bytes done so far */
    void (*progress)(int64_t done, int64_t total, void *user);
    void *user;
};
struct sclaw_prepare_stats {
    int64_t docs[2], tokens[2], shards[2];  /* [0] train, [1] val */
    int64_t bytes;
};
/* Tokenize c and write DIR/train_NNN.bin, DIR/val_NNN.bin and DIR/meta.json
 * (DIR is created if missing). Validation documents: exactly
 * round(val_fraction * ndocs) of them (at least 1 when val_fraction > 0),
 * those whose content hash (FNV-1a 64) is smallest, so the split depends only
 * on the documents' text, not on their order or on the other documents. Each
 * split keeps the corpus order. Every document is preceded by the separator.
 * Each file is written atomically and meta.json last (an older DIR/meta.json
 * is removed first, older surplus shards after), so DIR has a meta.json only
 * when it describes the shards next to it. */
int sclaw_data_prepare(const char *dir, const struct sclaw_corpus *c, struct sclaw_tokenizer *t,
                       const struct sclaw_prepare_opts *o, struct sclaw_prepare_stats *st);

/* ---- loader --------------------------------------------------------------- */

/* What a checkpoint records to resume the data stream exactly. */
struct sclaw_loader_state {
    uint64_t seed;
    int64_t position;  /* training windows served so far */
};

/* One batch: B rows of T+1 tokens; inputs are tokens[:, 0:T], targets
 * tokens[:, 1:T+1]. For each input token: seg, its segment within the row
 * (0 at the row start, +1 at every separator token), and pos, its position
 * inside that segment (0 at the row start and at every separator), which is
 * what a segment mask, a RoPE position restart or an mLSTM state reset at
 * document starts (pos == 0 and t > 0) needs. */
struct sclaw_batch {
    int64_t B, T;
    int64_t rows;      /* rows filled (< B only for the last validation batch) */
    int32_t *tokens;   /* (B, T+1) */
    int32_t *seg;      /* (B, T) */
    int32_t *pos;      /* (B, T) */
};
int sclaw_batch_init(struct sclaw_batch *b, int64_t B, int64_t T);
void sclaw_batch_free(struct sclaw_batch *b);

struct sclaw_loader {
    char *dir;
    int64_t vocab_size, eot_id, T;
    int64_t nshards[2];
    struct sclaw_shard *shards[2];   /* [0] train, [1] val */
    int64_t *start[2];               /* [nshards+1] token offset of each shard in its split */
    int64_t ntok[2];
    /* training windows: nwin windows of T+1 tokens starting at offset + perm[i]*T */
    int64_t nwin, slack;
    int64_t *perm;                   /* [nwin] permutation of the current epoch */
    int64_t perm_epoch;              /* epoch perm holds, -1 if none */
    int64_t nval;                    /* validation windows (fixed, starting at i*T) */
    struct sclaw_loader_state state;
};

/* Open DIR (from sclaw_data_prepare) for sequences of T tokens: read
 * meta.json, map and validate every shard. expect_vocab > 0 checks the data
 * was made with a tokenizer of that size (0: skip). The training split must
 * hold at least T+1 tokens. Allocates everything the run needs. */
int sclaw_loader_open(struct sclaw_loader *l, const char *dir, int64_t T, int64_t expect_vocab,
                      uint64_t seed);
void sclaw_loader_close(struct sclaw_loader *l);
/* Fill b with the next B training windows and advance state.position by B.
 * To resume from a checkpoint, assign the saved state to l->state first.
 * Epoch e = position / nwin visits every window once in an order and at an
 * offset drawn from (seed, e): the batch depends only on (seed, position). */
int sclaw_loader_next(struct sclaw_loader *l, struct sclaw_batch *b);
/* Number of validation batches of size B, and batch k of them (fixed windows
 * in order; the last one may have b->rows < B). */
int64_t sclaw_loader_val_batches(const struct sclaw_loader *l, int64_t B);
int sclaw_loader_val(struct sclaw_loader *l, int64_t k, struct sclaw_batch *b);
/* The resumable state as JSON {"seed": "0x...", "position": N} and back. */
json_t *sclaw_loader_state_json(const struct sclaw_loader_state *s);
int sclaw_loader_state_parse(const json_t *j, struct sclaw_loader_state *s);

#endif
