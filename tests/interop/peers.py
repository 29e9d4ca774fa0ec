"""The independent C peers of the interop tests and benches (libss7_peer.c, libpri_peer.c):
whether this host can build them, and building each once with gcc against its Debian library."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE.parent / ".cache" / "interop"


def missing(header: str, package: str) -> str | None:
    """Why a peer using ``header`` (from Debian ``package``) cannot be built here, or None."""
    if not Path("/usr/include", header).exists():
        return f"{package} not installed (/usr/include/{header})"
    if shutil.which("gcc") is None:
        return "gcc not installed"
    return None


def build(name: str, lib: str) -> Path:
    """Compile ``<name>.c`` against ``-l<lib>`` once (again when the source is newer)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / name
    src = HERE / f"{name}.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(exe), str(src), f"-l{lib}"], check=True,
                       capture_output=True, timeout=120)
    return exe
