"""The disk cache of compiled kernels invalidates itself when any kernel source changes.

Reference: a copy of the kernel package with two probe kernels, ``f`` in one file calling
``scale`` in another; each step runs in a fresh process (as a user's next run would) and
reports whether ``f`` had to compile and what it returns. Numba's own cache stamps only
``f``'s file, so after editing ``scale`` it would return the old value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twin.kernels import jit

ROOT = Path(__file__).resolve().parents[2]

PROBE_B = "from twin.kernels.jit import kernel\n\n\n@kernel\ndef scale(x):\n    return {k} * x\n"
PROBE_A = ("from twin.kernels._probe_b import scale\nfrom twin.kernels.jit import kernel\n\n\n"
           "@kernel\ndef f(x):\n    return scale(x) + 1.0\n")
SCRIPT = ("import json; from twin.kernels._probe_a import f; "
          "from twin.kernels.jit import needs_compiling; "
          "print(json.dumps([needs_compiling(f), f(3.0)]))")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """``twin/__init__.py`` and ``twin/kernels`` (no caches) with the probes, under tmp."""
    dest = tmp_path / "twin"
    dest.mkdir()
    shutil.copy(ROOT / "twin" / "__init__.py", dest / "__init__.py")
    shutil.copytree(ROOT / "twin" / "kernels", dest / "kernels",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "kernels" / "_probe_a.py").write_text(PROBE_A)
    (dest / "kernels" / "_probe_b.py").write_text(PROBE_B.format(k=2.0))
    return tmp_path


def probe(root: Path) -> tuple[bool, float]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True,
                         text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                         check=True)
    compiling, value = json.loads(out.stdout)
    return bool(compiling), float(value)


@pytest.mark.slow
def test_editing_a_called_kernel_recompiles_its_callers(copy: Path) -> None:
    assert probe(copy) == (True, 7.0)     # first use compiles
    assert probe(copy) == (False, 7.0)    # the next process loads the cache
    (copy / "twin" / "kernels" / "_probe_b.py").write_text(PROBE_B.format(k=5.0))
    assert probe(copy) == (True, 16.0)    # the caller's cache is stale: new code runs
    assert probe(copy) == (False, 16.0)
    reactor_rhs = copy / "twin" / "kernels" / "rhs" / "reactor.py"
    reactor_rhs.write_text(reactor_rhs.read_text() + "\n# an edit elsewhere in the kernels\n")
    assert probe(copy) == (True, 16.0)    # any kernel edit makes every cache stale


def test_source_hash_covers_every_kernel_file(tmp_path: Path) -> None:
    kernels = tmp_path / "kernels"
    shutil.copytree(ROOT / "twin" / "kernels", kernels,
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = jit.kernels_source_hash(kernels)
    assert before == jit.kernels_source_hash.__wrapped__(ROOT / "twin" / "kernels")
    (kernels / "rhs" / "common.py").write_text((kernels / "rhs" / "common.py").read_text() + " ")
    assert jit.kernels_source_hash.__wrapped__(kernels) != before
