"""A tenant's own logo: checked by its content, stored outside the web root under a random name.

Only PNG and JPEG are accepted: an SVG can carry scripts. The file is stored like a round
document (``<upload_dir>/<tenant id>/<random hex>``) and the theme keeps its storage name and
content type under ``uploaded_logo``; a route serves it (``/t/<slug>/logo/<storage name>``).
The upload form and the tenant loader (``logo_file`` in ``[theme]``) check it with
``logo_problem`` and write it through ``LogoFiles``.
"""

from __future__ import annotations

from pathlib import Path

from portal.core.i18n import _
from portal.rounds import documents as files

MAX_LOGO_BYTES = 512 * 1024
# Content type -> the extension an exported logo file gets.
LOGO_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}


def detected_logo_type(data: bytes) -> str | None:
    """The content type the picture really is, by its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def logo_problem(data: bytes) -> str | None:
    if not data:
        return _("Choose a picture to upload. The file you chose is empty.")
    if len(data) > MAX_LOGO_BYTES:
        return _("The logo is too large: at most %(max)s KB is allowed.", max=MAX_LOGO_BYTES // 1024)
    if detected_logo_type(data) is None:
        return _("Upload the logo as a PNG or JPEG picture.")
    return None


def logo_path(upload_dir: Path, tenant_id: int, uploaded: dict) -> Path:
    """Where an uploaded logo is stored (ValueError for anything that is not a storage name)."""
    return files.storage_path(upload_dir, tenant_id, str(uploaded.get("storage_name", "")))


def stored_logo(upload_dir: Path, tenant_id: int, uploaded: dict) -> bytes | None:
    """The stored picture, or None when it is gone."""
    try:
        return logo_path(upload_dir, tenant_id, uploaded).read_bytes()
    except (OSError, ValueError):
        return None


class LogoFiles:
    """Logo files written and replaced inside one transaction: when it fails, ``discard_written``
    removes the new files; when it commits, ``discard_replaced`` removes the old ones."""

    def __init__(self, upload_dir: Path) -> None:
        self.upload_dir = upload_dir
        self._written: list[tuple[int, dict]] = []
        self._replaced: list[tuple[int, dict]] = []

    def store(self, tenant_id: int, data: bytes) -> dict:
        uploaded = {
            "storage_name": files.store(self.upload_dir, tenant_id, data),
            "content_type": detected_logo_type(data),
        }
        self._written.append((tenant_id, uploaded))
        return uploaded

    def replace(self, tenant_id: int, old: dict | None, new: dict | None) -> None:
        """``old`` gives way to ``new`` (both may be None)."""
        if old and old != new:
            self._replaced.append((tenant_id, old))

    def discard_written(self) -> None:
        self._discard(self._written)

    def discard_replaced(self) -> None:
        self._discard(self._replaced)

    def _discard(self, logos: list[tuple[int, dict]]) -> None:
        for tenant_id, uploaded in logos:
            try:
                logo_path(self.upload_dir, tenant_id, uploaded).unlink(missing_ok=True)
            except ValueError:
                continue  # not a storage name: nothing of ours to remove
        logos.clear()
