"""Named text corpora with deterministic train/validation splits.

``load_corpus(name)`` looks ``name`` up in ``CORPORA`` (a plain dict ``kind -> loader``); the part of
the name after the first ``:`` is the loader's argument (``file:PATH``, ``markov:order=2,vocab=8``):

- ``python-docs`` (default): CPython's language-reference topics (``pydoc_data.topics``), offline.
- ``shakespeare``: Tiny Shakespeare, split as nanoGPT (first 90% of characters train).
- ``names``: makemore's names (32,033 lines), one per line, split 90/10 by a seeded shuffle.
- ``file:PATH``: any UTF-8 file (options ``split=0.9``, ``line_mode=False``).
- ``markov:order=..,vocab=..,seed=..`` and ``longrange:vocab=..,distance=..,p=..``: synthetic
  sources (``zoo.synthetic``) with an exact ``entropy_rate``.

Line-mode corpora store ``"\\n" + "".join(item + "\\n" for item in items)``: every item is wrapped in
the boundary ``"\\n"``, so with the project's N-1 convention each character and each end-of-item is
scored (see ``CharTokenizer(boundary=...)``).

Downloaded files (``shakespeare``, ``names``) are fetched once into the cache directory
(``zoo.download.cache_dir()``) and checked against a SHA-256; a local copy can be passed with
``path=`` and must have the same checksum (else ``ChecksumError``). Pointing ``$TINYGRAD_LM_CACHE`` at a
directory holding ``tinyshakespeare.txt`` / ``names.txt`` also works offline.
"""

from __future__ import annotations

import hashlib
import inspect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tinygrad_lm import Generator
from zoo import download
from zoo.synthetic import LongRangeSource, MarkovSource, symbols_to_text

DEFAULT_CORPUS = "python-docs"
LINE_SPLIT_SEED = 1337
"""Seed of the shuffle that splits line-mode corpora into train/validation items."""


@dataclass(frozen=True)
class Corpus:
    """Train and validation text of one corpus. ``entropy_rate`` (nats/symbol) is set for synthetic
    sources and None for real text; ``line_mode`` means one item per line (see module docstring)."""

    name: str
    train: str
    val: str
    entropy_rate: float | None = None
    line_mode: bool = False
    source: str = ""
    metadata: dict = field(default_factory=dict, compare=False)

    def unseen_characters(self) -> Counter:
        """Validation characters that never occur in training, with their counts."""
        seen = set(self.train)
        return Counter(c for c in self.val if c not in seen)

    def check_vocabulary(self) -> None:
        """Raise ValueError if the validation split has characters the training split lacks."""
        unseen = self.unseen_characters()
        if unseen:
            shown = ", ".join(f"{c!r} x{n}" for c, n in unseen.most_common(5))
            raise ValueError(
                f"corpus {self.name!r}: {len(unseen)} distinct validation characters never occur in training "
                f"({sum(unseen.values())} occurrences), e.g. {shown}; use "
                "CharTokenizer.fit(corpus.train, extra_chars=corpus.val) or unk=..."
            )

    def items(self, split: str = "train") -> list[str]:
        """The items (lines) of a line-mode corpus's ``"train"`` or ``"val"`` split."""
        if not self.line_mode or split not in ("train", "val"):
            raise ValueError(f"items({split!r}) needs a line-mode corpus and split 'train' or 'val'")
        return getattr(self, split).split("\n")[1:-1]


def _line_text(items: list[str]) -> str:
    return "\n" + "".join(item + "\n" for item in items)


def _split_lines(name: str, text: str, split: float, source: str) -> Corpus:
    """Seeded shuffle of the non-blank lines; the first ``int(n * split)`` are training items."""
    items = [line for line in text.splitlines() if line]
    order = Generator(LINE_SPLIT_SEED).permutation(len(items))
    shuffled = [items[i] for i in order]
    n_train = int(len(shuffled) * split)
    _require(name, shuffled[:n_train], shuffled[n_train:])
    return Corpus(name, _line_text(shuffled[:n_train]), _line_text(shuffled[n_train:]), None, True, source)


def _split_prefix(name: str, text: str, split: float, source: str) -> Corpus:
    """nanoGPT's split: the first ``int(n * split)`` characters train, the rest validation."""
    n_train = int(len(text) * split)
    _require(name, text[:n_train], text[n_train:])
    return Corpus(name, text[:n_train], text[n_train:], None, False, source)


def _require(name: str, train, val) -> None:
    if not train or not val:
        raise ValueError(
            f"corpus {name!r} is empty or too small to split (train {len(train)}, val {len(val)} items)"
        )


def read_text(path: str | Path) -> str:
    """A UTF-8 file's text; clear errors for a missing file, undecodable bytes or an empty file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start} "
            f"({error.reason})"
        ) from None
    if not text:
        raise ValueError(f"corpus file {path} is empty")
    return text


# --- real text -------------------------------------------------------------------------------------

PYTHON_DOCS_VAL_FRACTION = 0.1


def _no_argument(kind: str, arg: str) -> None:
    if arg:
        raise ValueError(f"corpus {kind!r} takes no ':argument' (got {kind}:{arg})")


def _python_docs(arg: str) -> Corpus:
    """CPython's ``pydoc_data.topics.topics`` (topic -> text), so figures depend on the Python version.

    Split by document: walk the topics in order of ``sha256(topic name)``; a topic goes to validation
    if validation stays within 10% of all characters and each of its characters occurs in some other
    training topic (so validation has no character unseen in training). Each split joins its topics
    in sorted name order, separated by a blank line.
    """
    from pydoc_data.topics import topics

    _no_argument("python-docs", arg)
    topic_chars = {name: set(text) for name, text in topics.items()}
    documents_with = Counter(c for chars in topic_chars.values() for c in chars)
    budget, val = PYTHON_DOCS_VAL_FRACTION * sum(map(len, topics.values())), set()
    for name in sorted(topics, key=lambda n: hashlib.sha256(n.encode()).hexdigest()):
        if len(topics[name]) <= budget and all(documents_with[c] >= 2 for c in topic_chars[name]):
            val.add(name)
            budget -= len(topics[name])
            documents_with.subtract(topic_chars[name])
    join = lambda names: "\n".join(topics[n] for n in sorted(names))
    source = f"pydoc_data.topics of Python {_python_version()} ({len(topics)} topics, {len(val)} validation)"
    return Corpus("python-docs", join(topics.keys() - val), join(val), None, False, source)


def _python_version() -> str:
    import sys

    return ".".join(map(str, sys.version_info[:3]))


@dataclass(frozen=True)
class RemoteText:
    url: str
    filename: str
    sha256: str


SHAKESPEARE = RemoteText(
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    "tinyshakespeare.txt",
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
)
NAMES = RemoteText(
    "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
    "names.txt",
    "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
)


def _remote_file(corpus: str, remote: RemoteText, path, cache_dir, url) -> Path:
    hint = (
        f"To use a local copy, pass load_corpus({corpus!r}, path=...) (or --dataset file:PATH), "
        f"or put {remote.filename} in the cache directory ($TINYGRAD_LM_CACHE)."
    )
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"corpus file not found: {path}")
        return download.verify(path, remote.sha256, f"This is not the expected {corpus} file.")
    return download.fetch(url or remote.url, remote.filename, remote.sha256, directory=cache_dir, hint=hint)


def _shakespeare(arg: str, path=None, cache_dir=None, url=None) -> Corpus:
    _no_argument("shakespeare", arg)
    file = _remote_file("shakespeare", SHAKESPEARE, path, cache_dir, url)
    return _split_prefix("shakespeare", read_text(file), 0.9, str(file))


def _names(arg: str, path=None, cache_dir=None, url=None) -> Corpus:
    _no_argument("names", arg)
    file = _remote_file("names", NAMES, path, cache_dir, url)
    return _split_lines("names", read_text(file), 0.9, str(file))


def _file(arg: str, path=None, split: float = 0.9, line_mode: bool = False) -> Corpus:
    file = arg or path
    if not file:
        raise ValueError("file corpus needs a path: load_corpus('file:PATH')")
    if not 0.0 < split < 1.0:
        raise ValueError(f"split must be in (0, 1), got {split}")
    text, name = read_text(file), f"file:{file}"
    return (_split_lines if line_mode else _split_prefix)(name, text, split, str(file))


# --- synthetic sources ---------------------------------------------------------------------------

SAMPLE_SIZES = {"n_train": 200_000, "n_val": 20_000}
MARKOV_DEFAULTS = {"order": 2, "vocab": 8, "seed": 0, "concentration": 0.5, **SAMPLE_SIZES}
LONGRANGE_DEFAULTS = {"vocab": 8, "distance": 16, "p": 0.8, "seed": 0, **SAMPLE_SIZES}


def parse_options(kind: str, arg: str, defaults: dict) -> dict:
    """``"k=v,k=v"`` -> defaults updated with the values converted to the defaults' types."""
    options = dict(defaults)
    for item in filter(None, (part.strip() for part in arg.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in defaults:
            raise ValueError(f"{kind}: bad option {item!r}; valid keys: {', '.join(defaults)} (as key=value)")
        try:
            options[key] = type(defaults[key])(value.strip())
        except ValueError:
            kind_of_value = type(defaults[key]).__name__
            raise ValueError(f"{kind}: option {key}={value!r} is not a valid {kind_of_value}") from None
    return options


def _synthetic(name: str, source, options: dict) -> Corpus:
    generator = Generator(options["seed"])
    train = symbols_to_text(source.sample(options["n_train"], generator))
    val = symbols_to_text(source.sample(options["n_val"], generator))
    _require(name, train, val)
    return Corpus(name, train, val, source.entropy_rate, False, source.describe(), dict(options))


def _markov(arg: str) -> Corpus:
    o = parse_options("markov", arg, MARKOV_DEFAULTS)
    source = MarkovSource(o["order"], o["vocab"], o["seed"], o["concentration"])
    return _synthetic(f"markov:{arg}".rstrip(":"), source, o)


def _longrange(arg: str) -> Corpus:
    o = parse_options("longrange", arg, LONGRANGE_DEFAULTS)
    return _synthetic(f"longrange:{arg}".rstrip(":"), LongRangeSource(o["vocab"], o["distance"], o["p"]), o)


CORPORA: dict[str, Callable[..., Corpus]] = {
    "python-docs": _python_docs,
    "shakespeare": _shakespeare,
    "names": _names,
    "file": _file,
    "markov": _markov,
    "longrange": _longrange,
}


def load_corpus(name: str = DEFAULT_CORPUS, path: str | Path | None = None, **options) -> Corpus:
    """Load corpus ``name`` (``kind`` or ``kind:argument``; see the module docstring).

    ``path`` is a local copy of a downloadable corpus; other keyword options depend on the kind:
    ``cache_dir``/``url`` (shakespeare, names), ``split``/``line_mode`` (file).
    """
    kind, _, arg = name.partition(":")
    if kind not in CORPORA:
        raise ValueError(
            f"unknown corpus {name!r}; valid: python-docs, shakespeare, names, file:PATH, "
            "markov:key=value,..., longrange:key=value,..."
        )
    loader = CORPORA[kind]
    if path is not None:
        options["path"] = path
    accepted = set(inspect.signature(loader).parameters) - {"arg"}
    if options.keys() - accepted:
        raise ValueError(
            f"corpus {kind!r} does not take option(s) {sorted(options.keys() - accepted)}; "
            f"it takes {sorted(accepted) or 'none'}"
        )
    return loader(arg, **options)
