"""Analysis inputs uploaded to the server, kept by content, and the data folder it may read.

An upload is streamed to a temporary file in the workspace's ``uploads/`` folder while its
sha256 is computed and its size checked against the configured limit; complete, it is renamed
to ``uploads/<sha256><suffixes>`` (the original name's suffixes, such as ``.fastq.gz``, which
readers use to tell formats apart). Over the limit, or interrupted, nothing is kept. The same
bytes uploaded twice are stored once.

A request names an uploaded file as ``upload:<sha256><suffixes>`` (what the upload returned)
and any other input as a path relative to the server's data folder; :func:`resolve_inputs`
turns both into absolute paths and refuses a path that leaves the folder (``..``, an absolute
path, a symbolic link pointing out) or does not exist, naming the request field.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from pmpath.domain.contract import AnalysisRequest
from pmpath.domain.errors import InvalidInputError

UPLOAD_PREFIX = "upload:"
_SUFFIXES = re.compile(r"^(\.[a-z0-9]{1,10}){0,3}$")
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}(\.[a-z0-9]{1,10}){0,3}$")


class UploadTooLargeError(InvalidInputError):
    """An upload larger than the configured limit."""


@dataclass(frozen=True)
class Upload:
    """A stored upload: its sha256, size and the reference a request names it by."""

    sha256: str
    size_bytes: int
    reference: str
    """``upload:<sha256><suffixes>``: put this in a request's input field."""


def upload_suffixes(filename: str) -> str:
    """Return the suffixes of ``filename`` kept on the stored file (``.fastq.gz``), lower case;
    '' when the name has none or they are not plain (at most three, letters and digits)."""
    name = Path(filename.replace("\\", "/")).name.lower()
    suffixes = "".join(Path(name).suffixes[-3:])
    return suffixes if _SUFFIXES.match(suffixes) else ""


class UploadWriter:
    """Streams one upload into ``uploads_dir``: ``write`` each chunk, then ``finish``.

    ``write`` raises :class:`UploadTooLargeError` past ``max_bytes``; leaving the ``with``
    block without ``finish`` (an error, a dropped connection) deletes the partial file.
    """

    def __init__(self, uploads_dir: Path, *, filename: str, max_bytes: int) -> None:
        self.uploads_dir = uploads_dir
        self.suffixes = upload_suffixes(filename)
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self._hash = hashlib.sha256()
        self._path: Path | None = None
        self._handle: int | None = None

    def __enter__(self) -> Self:
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self._handle, name = tempfile.mkstemp(
            prefix=".upload-", suffix=".partial", dir=self.uploads_dir
        )
        self._path = Path(name)
        return self

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; UploadTooLargeError once the upload passes the limit."""
        assert self._handle is not None
        self.size_bytes += len(chunk)
        if self.size_bytes > self.max_bytes:
            raise UploadTooLargeError(
                f"upload larger than the server's limit of {self.max_bytes:,} bytes"
            )
        self._hash.update(chunk)
        os.write(self._handle, chunk)

    def finish(self) -> Upload:
        """Close the file and keep it as ``<sha256><suffixes>``; return the upload."""
        assert self._handle is not None and self._path is not None
        if self.size_bytes == 0:
            raise InvalidInputError("empty upload: send the file's bytes as the request body")
        os.fsync(self._handle)
        os.close(self._handle)
        self._handle = None
        sha256 = self._hash.hexdigest()
        name = sha256 + self.suffixes
        target = self.uploads_dir / name
        if target.exists():
            self._path.unlink()
        else:
            self._path.chmod(0o444)
            os.replace(self._path, target)
        self._path = None
        return Upload(sha256=sha256, size_bytes=self.size_bytes, reference=UPLOAD_PREFIX + name)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None


def resolve_inputs(
    request: AnalysisRequest, *, uploads_dir: Path, data_dir: Path | None, where: str = "request"
) -> AnalysisRequest:
    """Return ``request`` with every input file as an absolute path: ``upload:NAME`` in
    ``uploads_dir``, anything else relative to ``data_dir``. InvalidInputError naming the field
    for a path outside the folder, an unknown upload or a missing file. Nothing is read."""
    resolved: dict[str, Path] = {}
    for role, given in request.input_files().items():
        text = str(given)
        if text.startswith(UPLOAD_PREFIX):
            name = text.removeprefix(UPLOAD_PREFIX)
            target = uploads_dir / name
            if not _UPLOAD_NAME.match(name) or not target.is_file():
                raise InvalidInputError(
                    f"{where}.{role}: no upload {name!r}; POST the file to /api/v1/uploads and "
                    "use the reference it returns"
                )
            resolved[role] = target.resolve()
            continue
        if data_dir is None:
            raise InvalidInputError(
                f"{where}.{role}: this server has no data folder; upload the file "
                "(POST /api/v1/uploads) and give its upload: reference"
            )
        folder = data_dir.resolve()
        real = (folder / given).resolve()
        if given.is_absolute() or not real.is_relative_to(folder):
            raise InvalidInputError(
                f"{where}.{role}: {text} is outside the data folder; give a path relative to it"
            )
        if not real.is_file():
            raise InvalidInputError(f"{where}.{role}: no file {text} in the data folder")
        resolved[role] = real
    return request.with_inputs(resolved)
