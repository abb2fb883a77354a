"""Fetch a file once, check its SHA-256, and keep it in a cache directory.

The cache directory is ``$TINYGRAD_LM_CACHE`` if set, else ``$XDG_CACHE_HOME/tinygrad_lm``, else
``~/.cache/tinygrad_lm``. A download goes to a temporary file in that directory, is hashed while it
is written, and is moved into place with ``os.replace`` only when the checksum matches: a failed,
interrupted or corrupted download never leaves a file behind. A local copy passed by the user is
checked against the same checksum and rejected (``ChecksumError``) when it differs, so figures are
always computed on the same bytes.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """The file could not be fetched (network error, HTTP error, or a checksum mismatch)."""


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the expected one."""


def cache_dir() -> Path:
    """The cache directory (not created): ``$TINYGRAD_LM_CACHE``, ``$XDG_CACHE_HOME/tinygrad_lm``
    or ``~/.cache/tinygrad_lm``."""
    if os.environ.get("TINYGRAD_LM_CACHE"):
        return Path(os.environ["TINYGRAD_LM_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "tinygrad_lm"
    return Path.home() / ".cache" / "tinygrad_lm"


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | Path, sha256: str, hint: str = "") -> Path:
    """Return ``path`` when its SHA-256 is ``sha256``; raise ``ChecksumError`` otherwise."""
    actual = sha256_of(path)
    if actual != sha256:
        raise ChecksumError(f"{path}: sha256 is {actual}, expected {sha256}. {hint}".rstrip())
    return Path(path)


def fetch(
    url: str,
    filename: str,
    sha256: str,
    *,
    directory: str | Path | None = None,
    timeout: float = 30.0,
    hint: str = "",
) -> Path:
    """The path of ``directory/filename`` (default: ``cache_dir()``), downloading ``url`` if needed.

    A cached file is trusted only if its checksum matches; a corrupt one is downloaded again.
    ``hint`` is appended to error messages (e.g. how to pass a local copy instead).
    """
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / filename
    if target.is_file() and sha256_of(target) == sha256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _download_to(url, out, timeout, hint)
        if actual != sha256:
            raise DownloadError(
                f"downloaded {url} but its sha256 is {actual}, expected {sha256}; nothing was saved. {hint}"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def _download_to(url: str, out, timeout: float, hint: str) -> str:
    """Stream ``url`` into the open binary file ``out``; return the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts
        raise DownloadError(f"could not download {url}: {error}. {hint}".rstrip()) from error
    return digest.hexdigest()
