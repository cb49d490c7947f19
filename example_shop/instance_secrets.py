"""The shop's secrets: from its config or environment, else made once and kept on disk.

A shop that ships a fixed key lets anyone who read its code sign its session cookies
(and so sign in as its admin). So the first run makes a random key and keeps it in the
instance folder, readable by the shop's user only; every later run (and every worker)
reads the same file. An environment variable of the same name wins over the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from flask import Flask

# Setting name -> file in the instance folder.
SECRET_FILES = {
    "SECRET_KEY": "secret_key",
    "PARTIALPAY_SANDBOX_SECRET": "sandbox_secret",
}


def load_secrets(app: Flask) -> None:
    """Fill in each secret the config leaves empty: the environment, else the file."""
    for name, filename in SECRET_FILES.items():
        if not app.config.get(name):
            app.config[name] = os.environ.get(name) or instance_secret(
                Path(app.instance_path) / filename
            )


def instance_secret(path: Path) -> str:
    """The secret kept at ``path``, made (random, mode 0600) if there is none yet."""
    if not path.exists():
        _create(path)
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise RuntimeError(f"{path} is empty: delete it and start the shop again to make one.")
    return value


def _create(path: Path) -> None:
    """Write a new secret so that it appears whole or not at all.

    Several workers may start at once: each writes its own temporary file and links it
    into place; the first link wins and the others read the winner's.
    """
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another worker's is in place
            os.link(draft, path)
    finally:
        draft.unlink()
