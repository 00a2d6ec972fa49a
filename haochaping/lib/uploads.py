"""Uploads kept between a dry run and its confirmation, so the user need not upload the file twice.

The file sits under DATA_DIR/uploads/<folder>/ named by a random token that only the uploading session knows;
a token is good for one confirmation, and files nobody confirmed are removed after a day.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest

MAX_AGE_S = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{10,64}")


class UploadStash:
    def __init__(self, folder: str, session_key: str):
        self.folder = folder
        self.session_key = session_key

    def _dir(self) -> Path:
        return Path(settings.DATA_DIR) / "uploads" / self.folder

    def put(self, request: HttpRequest, data: bytes, name: str) -> str:
        folder = self._dir()
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # uploads nobody confirmed
            if old.stat().st_mtime < time.time() - MAX_AGE_S:
                old.unlink(missing_ok=True)
        token = secrets.token_urlsafe(18)
        (folder / token).write_bytes(data)
        request.session[self.session_key] = {**request.session.get(self.session_key, {}), token: name}
        return token

    def take(self, request: HttpRequest, token: str) -> tuple[bytes, str] | None:
        """The file this session stashed under `token`, removed from the stash; None if there is none."""
        uploads = dict(request.session.get(self.session_key, {}))
        if not _TOKEN.fullmatch(token or "") or token not in uploads:
            return None
        name = uploads.pop(token)
        request.session[self.session_key] = uploads
        path = self._dir() / token
        if not path.is_file():
            return None
        data = path.read_bytes()
        path.unlink(missing_ok=True)
        return data, name
