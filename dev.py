#!/usr/bin/env python3
"""Set up a local environment and run the main job or the test suite.

Usage::

    python3 dev.py pilot [twin run options]   # virtual pilot run of the reference line + report
    python3 dev.py test  [pytest options]     # the whole test suite

Only the Python standard library is used here, so this works on a fresh machine with
Python 3.11+ and access to the package registry. The environment lives in ``.venv`` and
is reinstalled only when ``pyproject.toml`` changes; the process kernels and the compiled
engine are compiled at set-up (``twin warmup``, cached until a kernel source changes), not in
the first run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".pilot-twin-installed"
REFERENCE_LINE = ROOT / "lines" / "servo_actuator" / "line.toml"


def _ensure_env(with_tests: bool) -> None:
    """Create ``.venv`` and install the package when needed: the runtime only for a pilot
    run, with the test tools (extra ``test``) for the test suite."""
    if sys.version_info < (3, 11):  # noqa: UP036  (this script may run on an old Python)
        sys.exit(f"Pilot Twin needs Python 3.11+, this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = STAMP.read_text().split() if STAMP.exists() else []
    if PY.exists() and stamp[:1] == [digest] and (not with_tests or "test" in stamp):
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    what = "its test tools" if with_tests else "its runtime dependencies"
    print(f"installing pilot-twin and {what} ...", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    target = f"{ROOT}[test]" if with_tests else str(ROOT)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "-e", target], check=True, cwd=ROOT)
    STAMP.write_text(f"{digest} test" if with_tests else digest)


def _warm_up() -> None:
    """Compile the process kernels and the compiled engine once (cached on disk; quick when
    nothing changed), so that no run pauses to compile them."""
    subprocess.run([str(BIN / "twin"), "warmup"], check=True, cwd=ROOT)


def _pilot(args: list[str]) -> int:
    cmd = [str(BIN / "twin"), "run", str(REFERENCE_LINE), "--out", str(ROOT / "runs"),
           "--report", *args]
    return subprocess.call(cmd, cwd=ROOT)


def _ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium; install it when missing and we may (root)."""
    if shutil.which("chromium"):
        return
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("chromium is not installed and cannot be installed here: the browser tests "
              "will fail (install Debian's 'chromium' package)", file=sys.stderr)
        return
    print("installing Debian's chromium for the browser tests ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)


def _test(args: list[str]) -> int:
    _ensure_chromium()
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [str(PY), "-m", "pytest", "-n", "2", *args]
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code == 5:  # pytest: no tests collected -- that is a failure for us
        print("no tests were collected", file=sys.stderr)
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"pilot", "test"}:
        print(__doc__)
        return 2
    _ensure_env(with_tests=argv[0] == "test")
    _warm_up()
    return _pilot(argv[1:]) if argv[0] == "pilot" else _test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
