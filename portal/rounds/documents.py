"""Documents attached to a round: recognised by content and name, stored outside the web root.

A file is stored under ``<upload_dir>/<tenant id>/<random hex>``; the name the person uploaded
is never part of a path, only kept (cleaned) to show and to offer on download.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import unicodedata
import zipfile
from pathlib import Path

from portal.core.i18n import _
from portal.rounds.rules import DOCUMENT_TYPES, MAX_DOCUMENT_BYTES

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
DOCX_MAIN_PART = "word/document.xml"
MAX_FILENAME_LENGTH = 200
# Letters and digits of any script, and a few harmless punctuation marks.
UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^\w .()\-]", re.UNICODE)


class DocumentError(Exception):
    """The upload cannot be accepted; the message is for the user."""


def extension_of(filename: str) -> str:
    """".pdf" for "Plan.PDF" and for ".pdf"; "" without a dot."""
    stem, dot, extension = filename.lower().rpartition(".")
    return f".{extension}" if dot and extension else ""


def clean_filename(filename: str) -> str:
    """A display name without folders, control characters or anything a header could misuse."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(character for character in name if unicodedata.category(character)[0] != "C")
    name = UNSAFE_FILENAME_CHARACTERS.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" ")
    extension = extension_of(name)
    stem = name[: len(name) - len(extension)].strip(" .")
    stem = stem[: MAX_FILENAME_LENGTH - len(extension)].rstrip(" .")
    return f"{stem or 'document'}{extension}"


def _zip_entries(data: bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def detected_type(data: bytes) -> str | None:
    """The extension that the content really is (".pdf", ".odt", ".docx"), or None."""
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if not data.startswith(b"PK"):
        return None
    archive = _zip_entries(data)
    if archive is None:
        return None
    with archive:
        names = set(archive.namelist())
        if "mimetype" in names:
            try:
                with archive.open("mimetype") as entry:
                    # Read only a few bytes: never unpack a whole entry of an unknown archive.
                    if entry.read(len(ODT_MIMETYPE) + 1).strip() == ODT_MIMETYPE:
                        return ".odt"
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError):
                return None
        if DOCX_MAIN_PART in names:
            return ".docx"
    return None


def check_document(filename: str, data: bytes) -> tuple[str, str]:
    """The cleaned display name and the content type, or DocumentError with a message."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            _(
                "The document is too large: at most %(max)s MB is allowed. Make it smaller, for example by saving it as a PDF with smaller pictures.",
                max=MAX_DOCUMENT_BYTES // (1024 * 1024),
            )
        )
    if not data:
        raise DocumentError(_("Choose a document to upload. The file you chose is empty."))
    name = clean_filename(filename)
    extension = extension_of(name)
    if extension not in DOCUMENT_TYPES or detected_type(data) != extension:
        raise DocumentError(
            _("This file cannot be added. Only PDF, ODT and DOCX documents are allowed, and the file must really be of that type.")
        )
    return name, DOCUMENT_TYPES[extension]


def new_storage_name() -> str:
    return secrets.token_hex(32)


def storage_path(upload_dir: Path, tenant_id: int, storage_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", storage_name):
        raise ValueError("not a storage name")
    return Path(upload_dir) / str(int(tenant_id)) / storage_name


def store(upload_dir: Path, tenant_id: int, data: bytes) -> str:
    """Write the file under a new random name (readable by the owner only); return the name."""
    storage_name = new_storage_name()
    path = storage_path(upload_dir, tenant_id, storage_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return storage_name


def discard(upload_dir: Path, tenant_id: int, storage_name: str) -> None:
    storage_path(upload_dir, tenant_id, storage_name).unlink(missing_ok=True)
