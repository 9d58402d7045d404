"""Where the installer's data folders are: schemas/, screens/, bundles/.

From an installed wheel they live inside the package (`installer/_data/...`,
put there by the wheel build); from a checkout (editable install or
PYTHONPATH=src) they are the top-level folders of the repository. One function
answers for both, so nothing else needs to know which case it is in.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # model/ -> installer/
_FOLDERS = ("schemas", "screens", "bundles")


@cache
def data_root() -> Path:
    """The folder holding schemas/, screens/ and bundles/."""
    override = os.environ.get("ONSITE_DATA_DIR")
    if override:
        return Path(override)
    packaged = _PACKAGE / "_data"
    if (packaged / "schemas").is_dir():
        return packaged
    checkout = _PACKAGE.parent.parent  # src/installer -> repository root
    if (checkout / "schemas").is_dir():
        return checkout
    raise RuntimeError(f"the installer's data folders are missing (looked in {packaged} and {checkout})")


def data_path(folder: str, *parts: str) -> Path:
    if folder not in _FOLDERS:
        raise ValueError(f"unknown data folder {folder!r}")
    return data_root().joinpath(folder, *parts)
