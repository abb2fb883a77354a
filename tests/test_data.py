"""Corpora and downloads: splits, errors, and fetch-with-checksum against a local HTTP server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from zoo import download
from zoo.data import DEFAULT_CORPUS, load_corpus
from zoo.tokenizers import CharTokenizer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_file(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path / "www"`` on 127.0.0.1; yields (directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- download --------------------------------------------------------------------------------------


def test_fetch_good_checksum_caches_file(server, tmp_path):
    root, url = server
    (root / "a.txt").write_bytes(b"hello corpus\n")
    cache = tmp_path / "cache"
    path = download.fetch(f"{url}/a.txt", "a.txt", sha(b"hello corpus\n"), directory=cache)
    assert path == cache / "a.txt" and path.read_bytes() == b"hello corpus\n"
    (root / "a.txt").unlink()  # second call must not need the server
    assert download.fetch(f"{url}/a.txt", "a.txt", sha(b"hello corpus\n"), directory=cache) == path
    assert sorted(p.name for p in cache.iterdir()) == ["a.txt"]


def test_fetch_bad_checksum_raises_and_leaves_no_file(server, tmp_path):
    root, url = server
    (root / "a.txt").write_bytes(b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(download.DownloadError, match="sha256.*nothing was saved.*LOCAL HINT"):
        download.fetch(f"{url}/a.txt", "a.txt", sha(b"original"), directory=cache, hint="LOCAL HINT")
    assert list(cache.iterdir()) == []


def test_fetch_replaces_corrupt_cached_file(server, tmp_path):
    root, url = server
    (root / "a.txt").write_bytes(b"good")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "a.txt").write_bytes(b"corrupt")
    assert download.fetch(f"{url}/a.txt", "a.txt", sha(b"good"), directory=cache).read_bytes() == b"good"


def test_fetch_http_404_is_a_clear_error(server, tmp_path):
    _, url = server
    with pytest.raises(download.DownloadError, match="could not download.*404"):
        download.fetch(f"{url}/missing.txt", "m.txt", sha(b""), directory=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_connection_refused_is_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on: bind, read the number, close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(download.DownloadError, match=r"could not download .*path=\.\.\."):
        download.fetch(f"http://127.0.0.1:{port}/x", "x.txt", sha(b""), directory=tmp_path, hint="path=...")
    assert list(tmp_path.iterdir()) == []


def test_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(tmp_path / "c"))
    assert download.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("TINYGRAD_LM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_dir() == tmp_path / "xdg" / "tinygrad_lm"


def test_downloadable_corpus_via_local_server(server, tmp_path):
    root, url = server
    shutil.copy(real_file("names.txt"), root / "names.txt")
    corpus = load_corpus("names", url=f"{url}/names.txt", cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / "names.txt").is_file() and corpus.line_mode


def test_downloadable_corpus_offline_error_says_how_to_pass_a_local_copy(tmp_path):
    with pytest.raises(download.DownloadError, match=r"load_corpus\('shakespeare', path=\.\.\.\)"):
        load_corpus("shakespeare", url="http://127.0.0.1:9/none", cache_dir=tmp_path)


# --- real corpora ----------------------------------------------------------------------------------


def test_python_docs_is_default_deterministic_and_covered():
    corpus = load_corpus()
    assert corpus.name == DEFAULT_CORPUS == "python-docs"
    assert 0.05 < len(corpus.val) / (len(corpus.train) + len(corpus.val)) <= 0.1
    assert corpus.unseen_characters() == {}
    corpus.check_vocabulary()
    tok = CharTokenizer.fit(corpus.train)
    assert tok.decode(tok.encode(corpus.val)) == corpus.val
    assert load_corpus("python-docs") == corpus
    assert corpus.entropy_rate is None and not corpus.line_mode


def test_shakespeare_nanogpt_split():
    text = real_file("tinyshakespeare.txt").read_text(encoding="utf-8")
    corpus = load_corpus("shakespeare", path=DATA / "tinyshakespeare.txt")
    n = len(text)
    assert corpus.train == text[: int(n * 0.9)] and corpus.val == text[int(n * 0.9) :]
    tok = CharTokenizer.fit(corpus.train)
    assert tok.vocab_size == 65
    assert tok.decode(tok.encode(corpus.val)) == corpus.val


def test_cache_directory_holding_the_file_works_offline(monkeypatch):
    real_file("tinyshakespeare.txt")
    monkeypatch.setenv("TINYGRAD_LM_CACHE", str(DATA))
    corpus = load_corpus("shakespeare", url="http://127.0.0.1:9/never-used")
    assert len(corpus.train) == int(1_115_394 * 0.9)


def test_names_seeded_line_split():
    lines = real_file("names.txt").read_text(encoding="utf-8").split()
    corpus = load_corpus("names", path=DATA / "names.txt")
    train, val = corpus.items("train"), corpus.items("val")
    assert len(train) == int(len(lines) * 0.9) and sorted(train + val) == sorted(lines)
    assert corpus.train.startswith("\n") and corpus.train.endswith("\n")
    assert CharTokenizer.fit(corpus.train).vocab_size == 27
    assert load_corpus("names", path=DATA / "names.txt") == corpus


def test_local_copy_with_wrong_checksum_is_rejected(tmp_path):
    (tmp_path / "fake.txt").write_text("not shakespeare")
    with pytest.raises(download.ChecksumError, match="not the expected shakespeare"):
        load_corpus("shakespeare", path=tmp_path / "fake.txt")


# --- files and errors ------------------------------------------------------------------------------


def test_file_corpus_prefix_split(tmp_path):
    (tmp_path / "t.txt").write_text("abcdefghij", encoding="utf-8")
    corpus = load_corpus(f"file:{tmp_path / 't.txt'}", split=0.8)
    assert (corpus.train, corpus.val) == ("abcdefgh", "ij")


def test_file_corpus_line_mode(tmp_path):
    lines = [f"item{i}" for i in range(50)]
    (tmp_path / "l.txt").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    corpus = load_corpus(f"file:{tmp_path / 'l.txt'}", line_mode=True, split=0.9)
    assert corpus.line_mode and len(corpus.items("train")) == 45 and len(corpus.items("val")) == 5
    assert sorted(corpus.items("train") + corpus.items("val")) == sorted(lines)
    assert corpus.items("train") != lines[:45]  # shuffled


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_corpus(f"file:{tmp_path / 'nope.txt'}")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_corpus(f"file:{tmp_path / 'empty.txt'}")
    (tmp_path / "bad.txt").write_bytes(b"hello \xff world")
    with pytest.raises(ValueError, match=r"bad.txt is not UTF-8 text: byte 0xff at offset 6"):
        load_corpus(f"file:{tmp_path / 'bad.txt'}")
    (tmp_path / "one.txt").write_text("a")
    with pytest.raises(ValueError, match="too small"):
        load_corpus(f"file:{tmp_path / 'one.txt'}")


def test_unknown_corpus_and_options_are_clear_errors():
    with pytest.raises(ValueError, match="unknown corpus 'wikitext'.*python-docs.*shakespeare"):
        load_corpus("wikitext")
    with pytest.raises(ValueError, match=r"does not take option\(s\) \['split'\]"):
        load_corpus("python-docs", split=0.5)
    with pytest.raises(ValueError, match="takes no ':argument'"):
        load_corpus("shakespeare:big")


def test_unseen_validation_characters_are_reported(tmp_path):
    (tmp_path / "t.txt").write_text("aaaaaaaaab", encoding="utf-8")
    corpus = load_corpus(f"file:{tmp_path / 't.txt'}", split=0.9)
    assert corpus.unseen_characters() == {"b": 1}
    with pytest.raises(ValueError, match="1 distinct validation characters"):
        corpus.check_vocabulary()
    with pytest.raises(ValueError, match="never seen"):
        CharTokenizer.fit(corpus.train).encode(corpus.val)
    assert CharTokenizer.fit(corpus.train, extra_chars=corpus.val).encode(corpus.val).tolist() == [1]


# --- synthetic corpora -----------------------------------------------------------------------------


def test_markov_corpus_has_entropy_rate_and_char_symbols():
    corpus = load_corpus("markov:order=2,vocab=8,seed=0,n_train=5000,n_val=500")
    assert corpus.entropy_rate is not None and 0 < corpus.entropy_rate < np.log(8)
    assert (len(corpus.train), len(corpus.val)) == (5000, 500)
    assert set(corpus.train) <= set("abcdefgh")
    assert load_corpus("markov:order=2,vocab=8,seed=0,n_train=5000,n_val=500") == corpus
    assert load_corpus("markov:order=2,vocab=8,seed=1,n_train=5000,n_val=500").train != corpus.train


def test_longrange_corpus_closed_form_rate():
    corpus = load_corpus("longrange:vocab=4,distance=3,p=0.5,n_train=1000,n_val=100")
    hit, miss = 0.5 + 0.5 / 4, 0.5 / 4
    assert corpus.entropy_rate == pytest.approx(-(hit * np.log(hit) + 3 * miss * np.log(miss)))


def test_synthetic_spec_errors_list_valid_keys():
    with pytest.raises(ValueError, match="valid keys: order, vocab, seed, concentration, n_train, n_val"):
        load_corpus("markov:order=2,size=3")
    with pytest.raises(ValueError, match="is not a valid int"):
        load_corpus("markov:order=two")
    with pytest.raises(ValueError, match="distance"):
        load_corpus("longrange:oops=1")
