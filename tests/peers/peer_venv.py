"""Virtualenvs of the test peers that cannot live beside voltlab (their pins clash with
ours): built once per requirements file, shared by the xdist workers."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MARKER = ".voltlab-requirements"


class PeerVenvError(RuntimeError):
    """The peer's virtualenv could not be built."""


def venv_python(peer_dir: Path) -> Path:
    return peer_dir / ".venv" / "bin" / "python"


def _wanted_marker(requirements: Path) -> str:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return f"{digest} {sys.version_info.major}.{sys.version_info.minor}\n"


def _ready(peer_dir: Path) -> bool:
    try:
        marker = (peer_dir / ".venv" / MARKER).read_text()
        wanted = _wanted_marker(peer_dir / "requirements.txt")
        return venv_python(peer_dir).exists() and marker == wanted
    except OSError:
        return False


def ensure_peer_venv(peer_dir: Path, import_check: str) -> Path:
    """Create `peer_dir/.venv` from `peer_dir/requirements.txt` once and return its python.

    Idempotent: a marker file in the venv holds the hash of requirements.txt (and the Python
    minor version); when it matches nothing runs, and a changed requirements file rebuilds the
    venv from scratch. `import_check`: Python statements that must run in the new venv."""
    if _ready(peer_dir):
        return venv_python(peer_dir)
    lock_path = Path(tempfile.gettempdir()) / f"voltlab-peer-venv-{peer_dir.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time (xdist workers)
        try:
            if _ready(peer_dir):
                return venv_python(peer_dir)
            venv_dir = peer_dir / ".venv"
            if venv_dir.exists():
                shutil.rmtree(venv_dir)
            python = str(venv_python(peer_dir))
            requirements = str(peer_dir / "requirements.txt")
            steps = [
                [sys.executable, "-m", "venv", str(venv_dir)],
                [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
                + ["-q", "-r", requirements],
                [python, "-c", import_check],
            ]
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            for cmd in steps:
                proc = subprocess.run(
                    cmd, cwd=peer_dir, capture_output=True, text=True, timeout=900, env=env
                )
                if proc.returncode != 0:
                    raise PeerVenvError(
                        f"building the {peer_dir.name} peer venv failed at {cmd[:4]} "
                        f"(exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
                    )
            (venv_dir / MARKER).write_text(_wanted_marker(peer_dir / "requirements.txt"))
            return venv_python(peer_dir)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
