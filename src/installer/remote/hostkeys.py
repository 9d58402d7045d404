"""SSH host-key fingerprints in OpenSSH's form (SHA256:base64, no padding).

Pure functions; the transport compares these with what the answer file pins.
"""

from __future__ import annotations

import base64
import hashlib


def fingerprint_of_blob(blob: bytes) -> str:
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def fingerprint_of_public_line(line: str) -> str:
    """From an OpenSSH public key line: `ssh-ed25519 AAAA... comment`."""
    parts = line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    return fingerprint_of_blob(base64.b64decode(parts[1]))
