"""ARPA files, the n-gram format of KenLM, SRILM and the speech toolkits: write a fitted ``NGramLM``,
read any ARPA file back as a ``BackoffLM``.

    \\data\\
    ngram 1=G1                       how many m-grams each section lists
    ngram 2=G2
    \\1-grams:
    log10 p(w)  w  log10 b(w)        fields separated by tabs or spaces; b only below the top order
    \\2-grams:
    log10 p(v | w)  w v  log10 b(w v)
    \\end\\

``write_arpa`` lists the model's backoff form (``zoo.models.backoff_form``: the seen n-grams with
their interpolated probabilities and the folded backoff weights), so ARPA's rule gives back the
interpolated Kneser-Ney probabilities; numbers are printed with ``repr`` (17 significant digits),
so a reader parsing float64 gets them to the last digit or two. Words are characters: a
character that ARPA cannot hold as a word (whitespace, control characters) is written ``<U+XXXX>``
(``word_of``), listed in the file's ``#`` header; the tokenizer's ``unk`` character is ``<unk>``.
``<s>`` and ``</s>`` are listed as ARPA readers expect, with log10 probability -99: the zoo's model
never predicts them (``<s>``'s backoff is 1, so ``P(w | <s>)`` is the unigram ``P(w)``, as the zoo
scores a sequence's start). Query it without sentence markers: KenLM's
``model.full_scores(" ".join(words), bos=False, eos=False)``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from zoo.files import write_atomic

from .backoff_form import backoff_form
from .backoff_lm import BackoffLM

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
NEVER = -99.0
"""The log10 probability ARPA writers give to words the model never predicts (SRILM's convention)."""


def word_of(char: str) -> str:
    """The ARPA word of one character: itself, or ``<U+XXXX>`` for whitespace and unprintables."""
    return char if char.isprintable() and not char.isspace() else f"<U+{ord(char):04X}>"


def char_of(word: str) -> str | None:
    """The character of an ARPA word written by ``word_of`` (None for other words)."""
    found = re.fullmatch(r"<U\+([0-9A-F]{4,6})>", word)
    return chr(int(found.group(1), 16)) if found else (word if len(word) == 1 else None)


def token_words(tokenizer: Any) -> list[str]:
    """The ARPA word of each token of a character tokenizer (its ``unk`` character as ``<unk>``)."""
    if not hasattr(tokenizer, "chars"):
        raise ValueError(f"ARPA words here are characters: {tokenizer!r} is not a character tokenizer")
    return [UNK if char == tokenizer.unk else word_of(char) for char in tokenizer.chars]


def text_as_words(text: str, tokenizer: Any) -> str:
    """``text`` as the space-separated ARPA words a KenLM query reads (one line)."""
    words = token_words(tokenizer)
    return " ".join(words[i] for i in tokenizer.encode(text).tolist())


# ------------------------------------------------------------------------------------ writing
def arpa_lines(model: Any, tokenizer: Any) -> list[str]:
    """The lines of the ARPA file of a fitted ``NGramLM`` (kn/mkn, or addk of order 1)."""
    words = token_words(tokenizer)
    if len(words) != model.vocab_size:
        raise ValueError(f"the tokenizer has {len(words)} tokens, the model {model.vocab_size}")
    orders = backoff_form(model)
    specials = [w for w in (BOS, EOS, UNK) if w not in words]
    renamed = [f"# {w}\t{char!r}" for w, char in zip(words, tokenizer.chars, strict=True) if w != char]
    lines = [
        f"# order-{model.order} {model.smoothing} n-gram (k={model.k}) in ARPA backoff form, written by "
        "`python -m zoo export`",
        f"# words are characters; {', '.join(specials)} have log10 probability {NEVER} (never predicted)",
        "# query without sentence markers (KenLM: full_scores(line, bos=False, eos=False))",
        *(["# symbols for characters ARPA cannot hold as words:", *renamed] if renamed else []),
        "",
        "\\data\\",
    ]
    sizes = [len(order.ngrams) for order in orders]
    lines += [f"ngram {m}={size + (len(specials) if m == 1 else 0)}" for m, size in enumerate(sizes, 1)]
    for m, order in enumerate(orders, start=1):
        lines += ["", f"\\{m}-grams:"]
        if m == 1:
            backoff = "\t0.0" if model.order > 1 else ""
            lines += [f"{NEVER!r}\t{special}{backoff}" for special in specials]
        backoffs = [None] * len(order.ngrams) if order.log10_backoff is None else order.log10_backoff.tolist()
        rows = zip(order.ngrams.tolist(), order.log10_prob.tolist(), backoffs, strict=True)
        for ngram, log10_prob, backoff in rows:
            entry = f"{log10_prob!r}\t{' '.join(words[t] for t in ngram)}"
            lines.append(entry if backoff is None else f"{entry}\t{backoff!r}")
    return [*lines, "", "\\end\\", ""]


def write_arpa(model: Any, tokenizer: Any, path: str | Path) -> None:
    """Write the ARPA file of ``model`` (words from ``tokenizer``) to ``path`` atomically."""
    path = Path(path)
    write_atomic(path, "\n".join(arpa_lines(model, tokenizer)))


# ------------------------------------------------------------------------------------ reading
class ArpaError(ValueError):
    """A malformed ARPA file: the message names the file and line."""


def _number(text: str, what: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArpaError(f"{where}: {text!r} is not a number (the {what})") from None
    if math.isnan(value) or (what == "log10 probability" and value > 0):
        raise ArpaError(f"{where}: the {what} {text} is not the log10 of a probability (a number <= 0)")
    return value


def _counts(lines: list[str], path: str) -> tuple[list[int], int]:
    """The ``ngram m=G`` counts after ``\\data\\`` and the index of the line after them."""
    i = next((k for k, line in enumerate(lines) if line.strip() == "\\data\\"), None)
    if i is None:
        raise ArpaError(f"{path}: no \\data\\ line: not an ARPA file")
    counts, i = [], i + 1
    while i < len(lines) and lines[i].strip().startswith("ngram"):
        found = re.fullmatch(r"ngram\s+(\d+)\s*=\s*(\d+)", lines[i].strip())
        if not found or int(found.group(1)) != len(counts) + 1:
            raise ArpaError(f"{path}:{i + 1}: expected 'ngram {len(counts) + 1}=COUNT', got {lines[i]!r}")
        counts.append(int(found.group(2)))
        i += 1
    if not counts:
        raise ArpaError(f"{path}:{i + 1}: the \\data\\ section lists no 'ngram 1=COUNT' line")
    return counts, i


def _section(lines: list[str], i: int, m: int, count: int, order: int, words: dict, path: str) -> tuple:
    """Parse the ``\\m-grams:`` section starting at or after line ``i`` -> (entries, next line)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != f"\\{m}-grams:":
        got = "the end of the file" if i >= len(lines) else repr(lines[i])
        raise ArpaError(f"{path}:{min(i, len(lines)) + 1}: expected the \\{m}-grams: section, got {got}")
    entries, start, i = {}, i, i + 1
    while i < len(lines) and lines[i].strip() and not lines[i].startswith("\\"):
        where, fields = f"{path}:{i + 1}", lines[i].split()
        if len(fields) not in (m + 1, m + 2) or (m == order and len(fields) == m + 2):
            expected = f"{m + 1}" + ("" if m == order else f" or {m + 2}")
            got = f"got {len(fields)}: {lines[i]!r}"
            raise ArpaError(f"{where}: a {m}-gram entry has {expected} fields (log10 p, words, b), {got}")
        key = tuple(words.setdefault(w, len(words)) for w in fields[1 : m + 1])
        if key in entries:
            raise ArpaError(f"{where}: the {m}-gram {' '.join(fields[1 : m + 1])!r} is listed twice")
        backoff = _number(fields[m + 1], "log10 backoff weight", where) if len(fields) == m + 2 else 0.0
        entries[key] = (_number(fields[0], "log10 probability", where), backoff)
        i += 1
    if len(entries) != count:
        listed = f"lists {len(entries)} entries, \\data\\ says {count}"
        raise ArpaError(f"{path}:{start + 1}: the \\{m}-grams: section {listed}")
    return entries, i


def read_arpa(path: str | Path, tokenizer: Any) -> BackoffLM:
    """Any ARPA file (the zoo's, KenLM's, SRILM's) as a ``BackoffLM`` over ``tokenizer``'s tokens;
    tokens whose word is not in the file are ``<unk>`` (an error if the file has none)."""
    path = str(path)
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    counts, i = _counts(lines, path)
    words: dict[str, int] = {}
    grams = []
    for m, count in enumerate(counts, start=1):
        entries, i = _section(lines, i, m, count, len(counts), words, path)
        grams.append(entries)
    rest = [k for k in range(i, len(lines)) if lines[k].strip()]
    if not rest or lines[rest[0]].strip() != "\\end\\":
        got = repr(lines[rest[0]]) if rest else "the end of the file"
        raise ArpaError(f"{path}:{rest[0] + 1 if rest else len(lines)}: expected \\end\\, got {got}")
    return BackoffLM(grams, list(words), _token_word_ids(token_words(tokenizer), words, grams[0], path))


def _token_word_ids(names: list[str], words: dict, unigrams: dict, path: str) -> list[int]:
    listed = {key[0] for key in unigrams}
    unlisted = [w for w, index in words.items() if index not in listed]
    if unlisted:
        raise ArpaError(f"{path}: the words {unlisted[:10]} appear in n-grams but have no unigram entry")
    missing = [n for n in names if words.get(n) not in listed]
    if missing and (UNK not in words or words[UNK] not in listed):
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise ArpaError(f"{path}: {len(missing)} token(s) have no unigram and the file has no {UNK}: {shown}")
    return [words[n] if words.get(n) in listed else words[UNK] for n in names]
