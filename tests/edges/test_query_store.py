"""twin query over every recorded table, with study factor columns, confined to the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from twin.edges.query import QueryError, RunStore
from twin.fit.runlogs import event_log
from twin.live.readings import PlantEvent
from twin.live.resync import ResyncSettings
from twin.live.shadow import MonitorSettings, ShadowTwin
from twin.observation import runfolder, schema
from twin.orchestration.run import run
from twin.orchestration.sweep import run_study

LINES = Path(__file__).resolve().parents[2] / "lines"

TANK_LINE = {
    "line": {"name": "tank"}, "products": {"batch": {}, "roll": {}},
    "species": {"slurry": {"molar_mass": "0.1 kg/mol"}, "solvent": {"molar_mass": "0.1 kg/mol"}},
    "stations": {
        "src": {"type": "source", "product": "batch", "interarrival": "2 h", "to": "mixer"},
        "mixer": {"type": "process", "to": "tank", "recipe": [
            {"phase": "charge", "duration": "30 min",
             "materials": {"slurry": "400 kg", "solvent": "100 kg"}}]},
        "tank": {"type": "tank", "capacity": "1200 kg", "low": 0.1, "high": 0.8,
                 "to": "coater"},
        "coater": {"type": "continuous", "rate": "400 kg/h", "lot_mass": "300 kg",
                   "product": "roll", "to": "out", "power": {"producing": "30 kW"}},
        "out": {"type": "sink"},
    },
}


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A process line with alarms (api_batch) and a tank line: every table between them."""
    root = tmp_path_factory.mktemp("all_tables")
    api = run(LINES / "api_batch" / "line.toml", duration="2 d", warmup="0.5 d", seed=1)
    api.save(root)
    run(TANK_LINE, duration="1 d", warmup="0 s", seed=1).save(root)
    # a shadow twin's folder (residuals, and forecasts from one re-sync at the first batch
    # start, one hour ahead): the API line's own event log against itself
    resync = ResyncSettings(period=None, on=("start",), min_gap=1e9, horizon=3600.0)
    shadow = ShadowTwin(api.line, [], MonitorSettings(window=4 * 3600.0), reference=api,
                        resync=resync)
    log = event_log(api.tables, {})
    for t, i, p, st, e in zip(pd.to_datetime(log["time"], format="ISO8601"), log["id"],
                              log["product"], log["station"], log["event"], strict=True):
        shadow.feed(PlantEvent(t.timestamp(), i, p, st, e))
    folder = shadow.finish().save(root)
    assert (folder / "residuals.parquet").is_file() and (folder / "forecasts.parquet").is_file()
    return root


def test_every_recorded_table_is_queryable(store_root: Path) -> None:
    with RunStore(store_root) as store:
        assert set(store.tables) == set(schema.TABLES)  # the store has a shadow folder too
        for name in schema.TABLES:  # the list comes from the schema, not from the store
            got = store.query(f"select * from {name}")
            stored = pd.concat([f for folder in runfolder.find_runs(store_root)
                                if (f := runfolder.read_table(folder, name)) is not None])
            assert len(got) == len(stored), name
            assert list(got.columns[:1]) == ["run_id"] and got.columns[-1] == "folder"
            assert set(schema.table(name).names) <= set(got.columns), name


@pytest.mark.parametrize(("sql", "why"), [
    ("copy (select * from runs) to '{root}/leak.csv'", "COPY is not allowed"),
    ("copy (select 1) to '/tmp/leak_twin.csv'", "COPY is not allowed"),
    ("attach '{outside}/other.db' as o", "ATTACH is not allowed"),
    ("select * from read_text('{outside}/secret.txt')", "Permission"),
    ("select * from read_csv('{outside}/secret.txt')", "Permission"),
    ("install httpfs", "not allowed"),
    ("load json", "not allowed"),
    ("select 1; set enable_external_access = true", "SET is not allowed"),
    ("export database '{root}/dump'", "EXPORT is not allowed"),
])
def test_escapes_from_the_store_are_refused(store_root: Path, tmp_path: Path, sql: str,
                                            why: str) -> None:
    (tmp_path / "secret.txt").write_text("password\n")
    before = sorted(p.relative_to(store_root) for p in store_root.rglob("*"))
    with RunStore(store_root) as store, pytest.raises(QueryError, match=why):
        store.query(sql.format(root=store_root, outside=tmp_path))
    assert sorted(p.relative_to(store_root) for p in store_root.rglob("*")) == before
    assert not Path("/tmp/leak_twin.csv").exists() and not (tmp_path / "other.db").exists()


def test_configuration_is_locked_and_extensions_stay_off(store_root: Path) -> None:
    with RunStore(store_root) as store:
        settings = store._con.sql(
            "select name, value from duckdb_settings() where name in ('enable_external_access',"
            " 'lock_configuration', 'autoinstall_known_extensions',"
            " 'autoload_known_extensions')").fetchall()
        assert dict(settings) == {"enable_external_access": "false",
                                  "lock_configuration": "true",
                                  "autoinstall_known_extensions": "false",
                                  "autoload_known_extensions": "false"}
        with pytest.raises(Exception, match="configuration"):
            store._con.execute("set enable_external_access = true")


def test_factor_columns_group_a_sweep(tmp_path: Path) -> None:
    (tmp_path / "line.toml").write_text(
        '[line]\nname = "tiny"\n\n[products.A]\n\n[stations.src]\ntype = "source"\n'
        'product = "A"\ninterarrival = { dist = "exponential", mean = "10 s" }\nto = "m"\n\n'
        '[stations.m]\ntype = "machine"\ncycle_time = { dist = "exponential", mean = "6 s" }\n'
        'to = "out"\n\n[stations.out]\ntype = "sink"\n')
    (tmp_path / "scenario.toml").write_text(
        '[scenario]\nname = "f"\nline = "line.toml"\n\n[run]\nduration = "1500 s"\n'
        'warmup = "0 s"\nreplications = 2\nseed = 3\n\n[sweep]\ndesign = "grid"\n'
        'factors = { "stations.m.servers" = { levels = [1, 2] } }\n')
    study = run_study(tmp_path / "scenario.toml", tmp_path / "studies", executor="serial")
    with RunStore(tmp_path / "studies") as store:
        assert store.factors == ("factor_m_servers",)
        got = store.query("select factor_m_servers as s, count(*) as n, "
                          "avg(throughput_per_h) as tp from runs group by s order by s")
    table = study.results()
    want = table.groupby("factor:stations.m.servers")["throughput_per_h"].agg(["size", "mean"])
    assert list(got["s"]) == [1, 2] and list(got["n"]) == list(want["size"])
    assert got["tp"].to_numpy() == pytest.approx(want["mean"].to_numpy(), rel=1e-12)


def test_a_link_out_of_the_store_is_left_out_not_fatal(store_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    run(TANK_LINE, duration="2 h", warmup="0 s", seed=4).save(outside)
    root = tmp_path / "store"
    shutil.copytree(store_root, root)
    (root / "linked").symlink_to(next(outside.iterdir()), target_is_directory=True)
    with RunStore(root) as store:
        assert len(store.runs()) == len(runfolder.find_runs(store_root))  # the link left out
        assert [(d.path.name, d.status) for d in store.damaged] == [("linked", "outside")]
