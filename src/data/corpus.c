/* corpus.c - text corpora as documents: the built-in King James Bible and
 * user text files (sclaw_data.h, issue 5).
 *
 * "kjv": the King James Version (1611; public domain) from Debian's
 * bible-kjv-text package (/usr/lib/bible.data, compressed), extracted with
 * the `bible` program of package bible-kjv: `bible -f Gen1:1-Rev22:21` prints
 * all 31,102 verses as "Ge1:1 In the beginning ..." one per line, in canonical
 * order, deterministically. Each of the 1,189 chapters becomes one document:
 * its verses without the references, one verse per line (about 4.2 MB).
 */
#define _POSIX_C_SOURCE 200809L
#include "sclaw_data.h"
#include "sclaw_status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const sclaw_corpus_names[][2] = {
    {"kjv", "King James Bible (public domain), Debian bible-kjv-text; one document per chapter"},
    {NULL, NULL},
};

#define BIBLE_DATA "/usr/lib/bible.data"
#define BIBLE_CMD "bible -f -p /usr/lib Gen1:1-Rev22:21 </dev/null 2>/dev/null"

int sclaw_docs_parse(const char *s)
{
    if (!strcmp(s, "file"))
        return SCLAW_DOCS_FILE;
    if (!strcmp(s, "paragraph"))
        return SCLAW_DOCS_PARAGRAPH;
    if (!strcmp(s, "eot"))
        return SCLAW_DOCS_EOT;
    return -1;
}

void sclaw_corpus_free(struct sclaw_corpus *c)
{
    free(c->text);
    free(c->off);
    json_decref(c->sources);
    memset(c, 0, sizeof *c);
}

static int append_text(struct sclaw_corpus *c, const char *s, int64_t n, int64_t *cap)
{
    if (c->nbytes + n > *cap) {
        int64_t nc = *cap ? *cap : 1 << 20;
        while (nc < c->nbytes + n)
            nc *= 2;
        char *t = realloc(c->text, (size_t)nc);
        if (!t)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory: corpus of %" PRId64 " bytes", nc);
        c->text = t;
        *cap = nc;
    }
    memcpy(c->text + c->nbytes, s, (size_t)n);
    c->nbytes += n;
    return SCLAW_OK;
}

/* Close the current document (everything after off[ndocs]) unless it is empty. */
static int end_doc(struct sclaw_corpus *c)
{
    if (c->nbytes == c->off[c->ndocs])
        return SCLAW_OK;
    if (c->ndocs + 2 > c->cap_docs) {
        int64_t nc = 2 * c->cap_docs;
        int64_t *o = realloc(c->off, (size_t)nc * sizeof *o);
        if (!o)
            return sclaw_fail(SCLAW_E_NOMEM, "out of memory: %" PRId64 " documents", c->ndocs);
        c->off = o;
        c->cap_docs = nc;
    }
    c->off[++c->ndocs] = c->nbytes;
    return SCLAW_OK;
}

/* The King James Bible, one document per chapter. */
static int load_kjv(struct sclaw_corpus *c, int64_t *cap)
{
    if (access(BIBLE_DATA, R_OK) != 0)
        return sclaw_fail(SCLAW_E_IO, "corpus 'kjv' needs '%s' from Debian package bible-kjv-text "
                          "(scripts/install-deps)", BIBLE_DATA);
    FILE *fp = popen(BIBLE_CMD, "r");
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "corpus 'kjv': cannot run 'bible': %s", strerror(errno));
    char *line = NULL, chapter[32] = "";
    size_t lcap = 0;
    ssize_t n;
    int64_t verses = 0;
    int st = SCLAW_OK;
    while ((n = getline(&line, &lcap, fp)) > 0) {
        /* "1Sa12:3 text": reference up to the first space, chapter up to ':' */
        char *sp = memchr(line, ' ', (size_t)n), *colon = memchr(line, ':', (size_t)n);
        if (!sp || !colon || colon > sp || colon - line >= (ptrdiff_t)sizeof chapter) {
            st = sclaw_fail(SCLAW_E_FORMAT, "corpus 'kjv': unexpected output of 'bible' at "
                            "verse %" PRId64 ": '%.40s'", verses + 1, line);
            break;
        }
        size_t clen = (size_t)(colon - line);
        if (strlen(chapter) != clen || memcmp(chapter, line, clen)) {
            if ((st = end_doc(c)))
                break;
            memcpy(chapter, line, clen);
            chapter[clen] = '\0';
        }
        int64_t tlen = n - (sp + 1 - line);
        if ((st = append_text(c, sp + 1, tlen, cap)))
            break;
        if (tlen == 0 || sp[tlen] != '\n')
            if ((st = append_text(c, "\n", 1, cap)))
                break;
        verses++;
    }
    free(line);
    int rc = pclose(fp);
    if (st)
        return st;
    if (rc != 0 || verses < 31102)
        return sclaw_fail(SCLAW_E_IO, "corpus 'kjv': 'bible' failed (exit status %d, %" PRId64
                          " verses read; install Debian package bible-kjv)",
                          WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, verses);
    return end_doc(c);
}

/* Split [start, c->nbytes) into documents by mode. */
static int split_docs(struct sclaw_corpus *c, int64_t start, enum sclaw_docs mode)
{
    int st;
    if (mode == SCLAW_DOCS_FILE)
        return end_doc(c);
    int64_t end = c->nbytes, i = start, keep = start;
    /* rewrite in place: documents are copied down over the separators */
    c->nbytes = start;
    while (i < end) {
        int64_t seplen = 0;
        const char *p = c->text + i;
        if (mode == SCLAW_DOCS_EOT) {
            size_t el = strlen(SCLAW_TOK_EOT);
            if (end - i >= (int64_t)el && !memcmp(p, SCLAW_TOK_EOT, el)) {
                seplen = (int64_t)el;
                /* the separator's own line break belongs to it */
                if (i + seplen < end && c->text[i + seplen] == '\n')
                    seplen++;
            }
        } else if (*p == '\n') {
            /* a blank line: "\n" followed by optional blanks and "\n" */
            int64_t j = i + 1;
            while (j < end && (c->text[j] == ' ' || c->text[j] == '\t' || c->text[j] == '\r'))
                j++;
            if (j < end && c->text[j] == '\n') {
                while (j < end && (c->text[j] == '\n' || c->text[j] == ' ' || c->text[j] == '\t' ||
                                   c->text[j] == '\r'))
                    j++;
                seplen = j - i;
                c->text[keep++] = '\n';  /* the paragraph keeps its final newline */
                c->nbytes = keep;
            }
        }
        if (seplen) {
            c->nbytes = keep;
            if ((st = end_doc(c)))
                return st;
            i += seplen;
            continue;
        }
        c->text[keep++] = c->text[i++];
        c->nbytes = keep;
    }
    c->nbytes = keep;
    return end_doc(c);
}

static int load_file(struct sclaw_corpus *c, const char *path, enum sclaw_docs mode, int64_t *cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return sclaw_fail(SCLAW_E_IO, "cannot open '%s': %s", path, strerror(errno));
    int64_t start = c->nbytes;
    char buf[1 << 16];
    size_t got;
    int st = SCLAW_OK;
    while ((got = fread(buf, 1, sizeof buf, fp)) > 0)
        if ((st = append_text(c, buf, (int64_t)got, cap)))
            break;
    if (!st && ferror(fp))
        st = sclaw_fail(SCLAW_E_IO, "cannot read '%s': %s", path, strerror(errno));
    fclose(fp);
    if (st)
        return st;
    return split_docs(c, start, mode);
}

int sclaw_corpus_load(struct sclaw_corpus *c, const char *const *names, int64_t n,
                      enum sclaw_docs mode)
{
    int64_t cap = 0;
    int st = SCLAW_OK;
    memset(c, 0, sizeof *c);
    c->cap_docs = 1024;
    c->off = malloc((size_t)c->cap_docs * sizeof *c->off);
    c->sources = json_array();
    if (!c->off || !c->sources) {
        sclaw_corpus_free(c);
        return sclaw_fail(SCLAW_E_NOMEM, "out of memory");
    }
    c->off[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t b0 = c->nbytes, d0 = c->ndocs;
        int builtin = !strcmp(names[i], sclaw_corpus_names[0][0]);  /* "kjv", the only one */
        st = builtin ? load_kjv(c, &cap) : load_file(c, names[i], mode, &cap);
        if (st)
            break;
        json_array_append_new(c->sources,
                              json_pack("{s:s, s:s, s:I, s:I}", "name", names[i], "kind",
                                        builtin ? "builtin" : "file", "bytes",
                                        (json_int_t)(c->nbytes - b0), "documents",
                                        (json_int_t)(c->ndocs - d0)));
    }
    if (!st && c->ndocs == 0)
        st = sclaw_fail(SCLAW_E_ARG, "the corpus has no text");
    if (st)
        sclaw_corpus_free(c);
    return st;
}
