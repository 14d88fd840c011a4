"""Browser files from npm (package.json at the repo root, installed by `npm ci` in
`make setup`), served from node_modules by name: only the files listed here are reachable."""

from __future__ import annotations

from pathlib import Path

from api.settings import REPO_ROOT

NODE_MODULES = REPO_ROOT / "node_modules"

# URL name -> file inside node_modules.
VENDOR_FILES: dict[str, Path] = {
    "socket.io.min.js": Path("socket.io-client/dist/socket.io.min.js"),
    "rasa-webchat.js": Path("rasa-webchat/lib/index.js"),
}


def vendor_file(name: str) -> Path | None:
    """The installed file served as `name`, or None when it is not one of ours or not installed."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        return None
    path = NODE_MODULES / relative
    return path if path.is_file() else None


def missing_vendor_files() -> list[str]:
    """Names whose file is not installed (npm ci has not run)."""
    return [name for name in VENDOR_FILES if vendor_file(name) is None]
