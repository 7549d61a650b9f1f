#!/usr/bin/env python3
"""Writes tests/data/gpt2_tiny/{encoder.json,vocab.bpe} - a tiny vocabulary in
GPT-2's file format (the 256 bytes in GPT-2's order, GPT-2's first 23 merges,
"<|endoftext|>") - and tests/data/gpt2_tiny_expected.json: texts with their
encodings computed by GPT-2's own algorithm (bytes_to_unicode and bpe() from
openai/gpt-2 src/encoder.py, MIT licence), independent of sclaw's C code.
The pre-tokenisation pattern is GPT-2's with sclaw's ASCII classes (letters:
A-Z a-z and bytes >= 0x80; digits 0-9), see include/sclaw_data.h.
Run from the repository root: python3 tests/gen/gpt2_tiny.py"""
import json
import random
import re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(n) for n in cs])), bs


def get_pairs(word):
    return set(zip(word[:-1], word[1:]))


MERGES = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r", "Ġ s", "a t", "Ġ w",
          "Ġ o", "e n", "Ġ c", "i t", "i s", "a n", "o r", "e s", "Ġ b", "e d", "Ġ f", "in g"]
PAT = re.compile(rb"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z\x80-\xff]+| ?[0-9]+| ?[^\sA-Za-z0-9\x80-\xff]+|\s+(?!\S)|\s+""")

byte_encoder, order = bytes_to_unicode()
encoder = {byte_encoder[b]: i for i, b in enumerate(order)}
for m in MERGES:
    a, b = m.split(" ")
    encoder[a + b] = len(encoder)
encoder["<|endoftext|>"] = len(encoder)
ranks = {tuple(m.split(" ")): i for i, m in enumerate(MERGES)}


def bpe(token):
    word = tuple(token)
    pairs = get_pairs(word)
    if not pairs:
        return token
    while True:
        bigram = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new_word = []
        i = 0
        while i < len(word):
            try:
                j = word.index(first, i)
                new_word.extend(word[i:j])
                i = j
            except ValueError:
                new_word.extend(word[i:])
                break
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new_word.append(first + second)
                i += 2
            else:
                new_word.append(word[i])
                i += 1
        word = tuple(new_word)
        if len(word) == 1:
            break
        pairs = get_pairs(word)
    return " ".join(word)


def encode(data):
    ids = []
    for chunk in PAT.findall(data):
        token = "".join(byte_encoder[b] for b in chunk)
        ids.extend(encoder[t] for t in bpe(token).split(" "))
    return ids


rng = random.Random(5)
texts = [b"", b"the", b" the", b"In the beginning God created the heaven and the earth.",
         b"thethethe inin   the\n\nstring beings", b"<|endoftext|>", b"it is an order, isn't it?",
         "caf\u00e9 \u00fcber na\u00efve \u2014 \u65e5\u672c".encode(), b"\x00\xff\xfe\x80 t\xc3",
         b"a" * 300, b"         the",
         bytes(rng.randrange(256) for _ in range(400)),
         bytes(rng.choice(b"the in at on es ed\n") for _ in range(600))]
with open("tests/data/gpt2_tiny/encoder.json", "w", encoding="utf-8") as f:
    json.dump(encoder, f, ensure_ascii=False)
with open("tests/data/gpt2_tiny/vocab.bpe", "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "\n".join(MERGES) + "\n")
with open("tests/data/gpt2_tiny_expected.json", "w") as f:
    json.dump({"cases": [{"hex": t.hex(), "ids": encode(t)} for t in texts]}, f, indent=1)
