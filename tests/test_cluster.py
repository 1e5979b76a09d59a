"""Reading on a Dask cluster (omr scan/audit --cluster): a real LocalCluster of 2 worker processes,
shared by the module (it takes a few seconds to start). The reads, their digest and the audit must be
those of a local run; a worker killed in the middle of a run loses no page and stores none twice."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import BUNDLED_TEMPLATES, ROOT

from omr.audit.digest import reads_digest
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.scan.batch import ScanOptions, scan
from omr.scan.cluster import Cluster, ClusterError, open_cluster
from omr.store.database import Store

pytestmark = pytest.mark.slow  # a LocalCluster of worker processes, the bundled samples read several times

SAMPLES = ROOT / "sample_scans"
TEMPLATES = [str(p) for p in BUNDLED_TEMPLATES]


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundled samples read by this process alone: the reference (annotations in its folder)."""
    db = tmp_path_factory.mktemp("local") / "local.sqlite"
    with Store(db) as store:
        summary = scan([str(SAMPLES)], store, _options(annotate_dir=str(db.parent / "annotated")))
    return db, reads_digest(summary.reads)


def _options(annotate_dir: str | None = None) -> ScanOptions:
    return ScanOptions(tuple(load_template(p) for p in TEMPLATES), tuple(TEMPLATES), load_profile(), jobs=1,
                       annotate_dir=annotate_dir)


def omr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=900)


def test_scan_on_the_cluster_reads_and_stores_as_a_local_run(dask_client, local_run, tmp_path: Path) -> None:
    local_db, local_digest = local_run
    address = dask_client.scheduler.address
    db = tmp_path / "cluster.sqlite"
    proc = omr("scan", str(SAMPLES), "--template", *TEMPLATES, "--db", str(db), "--cluster", address, "--digest",
               "--annotate", str(tmp_path / "annotated"))
    assert proc.returncode == 1, proc.stderr  # sheets await review; nothing failed
    assert re.search(r"^digest ([0-9a-f]{64})$", proc.stdout, re.M).group(1) == local_digest
    with Store(db) as store, Store(local_db) as local:
        # the same sheets, paths and pages, in the same order (ids): the store is written as locally
        assert [(s.read.source, s.read.page) for s in store.sheet_items()] == \
               [(s.read.source, s.read.page) for s in local.sheet_items()]
        assert sorted(p for (p,) in store._conn.execute("SELECT payload FROM log WHERE kind = 'sheet'")) == \
               sorted(p for (p,) in local._conn.execute("SELECT payload FROM log WHERE kind = 'sheet'"))
        run = store.runs()[-1]
        assert run.options["cluster"] == {"address": address, "workers": 2, "threads": 2}
        assert store.verify_log().ok
    # annotations are drawn here (the workers' disks are not ours), the same as a local run's
    drawn = sorted(p.name for p in (tmp_path / "annotated").iterdir())
    assert drawn == sorted(p.name for p in (local_db.parent / "annotated").iterdir()) and len(drawn) > 20


def test_a_worker_killed_mid_run_loses_no_page_and_stores_none_twice(dask_client, local_run, tmp_path: Path) -> None:
    local_db, local_digest = local_run
    pids = dask_client.run(os.getpid)
    killed: list[tuple[str, int]] = []

    def kill_one_worker(pages: int) -> None:
        if not killed:  # after the first chunk is in: a worker holding chunks
            busy = {w: keys for w, keys in dask_client.processing().items() if keys}
            victim = min(busy)
            os.kill(pids[victim], signal.SIGKILL)
            killed.append((victim, len(busy[victim])))

    db = tmp_path / "killed.sqlite"
    with Store(db) as store:
        summary = scan([str(SAMPLES)], store, _options(), on_page=kill_one_worker,
                       cluster=Cluster(dask_client, dask_client.scheduler.address))
        stored = [(s.read.source, s.read.page) for s in store.sheet_items()]
        assert store.verify_log().ok
    assert killed and killed[0][1] >= 1 and not summary.failures
    assert summary.workers_lost == 1  # noticed, for the note omr scan prints
    with Store(local_db) as local:
        assert summary.sheets == len(stored) == len(local.sheet_items()) > 80  # every bundled page
    assert max(Counter(stored).values()) == 1
    assert reads_digest(summary.reads) == local_digest
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next test


def test_audit_on_the_cluster_agrees_with_the_local_audit(dask_client, local_run, tmp_path: Path) -> None:
    local_db, _ = local_run
    reports = {}
    for name, where in (("local", ["--jobs", "1"]), ("cluster", ["--cluster", dask_client.scheduler.address])):
        out = tmp_path / f"{name}.json"
        proc = omr("audit", str(SAMPLES), "--db", str(local_db), "--template", *TEMPLATES, "--json", str(out), *where)
        assert proc.returncode == 0, proc.stdout + proc.stderr  # nothing differs
        reports[name] = json.loads(out.read_text(encoding="utf-8"))
    local, cluster = reports["local"], reports["cluster"]
    assert cluster["differences"] == local["differences"] == []
    assert cluster["digest"]["after"] == local["digest"]["after"] == local["digest"]["before"]
    with Store(local_db) as store:
        pages = len(store.sheet_items())
    assert cluster["sheets"] == local["sheets"] == {"before": pages, "after": pages, "compared": pages}
    assert cluster["totals"] == local["totals"] and cluster["totals"]["after"]


def test_cluster_addresses_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    for bad in ("local:0", "local:x", "local"):
        with pytest.raises(ClusterError, match="local:N"), open_cluster(bad):
            pass
    db = tmp_path / "never.sqlite"
    proc = omr("scan", str(SAMPLES / "phone-01.jpg"), "--template", *TEMPLATES, "--db", str(db),
               "--cluster", "local:2", "--debug", str(tmp_path / "debug"))
    assert proc.returncode == 2 and "--debug" in proc.stderr and not db.exists()
