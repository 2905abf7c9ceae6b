"""Golden test: every reference line, at a fixed seed and short duration, stores the same
tables and KPIs as the code before the run-folder, schema and study-runner refactoring.

``golden_tables.json`` holds, per line, each stored table's hash (the Parquet table read
back, hashed as its column dtypes plus its CSV text) and the KPIs as stored in run.json. The
table hashes come from the code without that refactoring (the main line with it taken out);
the KPIs also, except the water KPIs, which a deliberate correction (all process water,
``cleaning_water_kg``) changed after it and which were checked to be the only KPIs that
moved, and the thermal maxima of process lines (``peak_temperature_max_c``, ``mtsr_max_c``),
added later with no other KPI or table moving. A change meant to alter results must
regenerate the file on purpose and say by how much the figures moved::

    python tests/orchestration/test_golden.py > tests/orchestration/golden_tables.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.observation import runfolder
from twin.orchestration.run import run

GOLDEN = Path(__file__).with_name("golden_tables.json")
LINES = Path(__file__).resolve().parents[2] / "lines"


def table_hash(frame: pd.DataFrame) -> str:
    """Column names and dtypes plus the full-precision CSV text of a table."""
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(frame.to_csv(index=False).encode())
    return h.hexdigest()


def stored_hashes(name: str, duration: str, warmup: str, seed: int, root: Path
                  ) -> dict[str, Any]:
    folder = run(LINES / name / "line.toml", duration=duration, warmup=warmup,
                 seed=seed).save(root)
    tables = {t: table_hash(runfolder.read_table(folder, t))
              for t in runfolder.table_names(folder)}
    kpis = runfolder.read_summary(folder)["kpis"]
    return {"duration": duration, "warmup": warmup, "seed": seed, "tables": tables,
            "kpis": kpis}


CASES = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_line_tables_are_unchanged(name: str, tmp_path: Path) -> None:
    want = CASES[name]
    got = stored_hashes(name, want["duration"], want["warmup"], want["seed"], tmp_path)
    assert sorted(got["tables"]) == sorted(want["tables"])
    changed = [t for t in want["tables"] if got["tables"][t] != want["tables"][t]]
    assert not changed, f"{name}: tables {changed} differ from the golden run"
    moved = {k: (want["kpis"].get(k), got["kpis"].get(k))
             for k in set(want["kpis"]) | set(got["kpis"])
             if want["kpis"].get(k, "absent") != got["kpis"].get(k, "absent")}
    assert not moved, f"{name}: KPIs differ from the golden run (golden, now): {moved}"


if __name__ == "__main__":  # regenerate (only when results are meant to change)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = {n: stored_hashes(n, c["duration"], c["warmup"], c["seed"], Path(tmp))
               for n, c in CASES.items()}
    json.dump(out, sys.stdout, indent=1)
