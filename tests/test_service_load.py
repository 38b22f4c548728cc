"""A real ``assess serve`` on loopback (issue 18): 20 concurrent uploads to two service
processes all succeed and each is in the register exactly once; SIGTERM stops the service
cleanly; a killed service's screening reads failed and its uploads are removed; a second
service on the same register leaves the first one's screening alone. The latency figures are
measured by ``bench/bench_service.py``, not asserted here."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import AS_OF, ROOT
from run_assess import Ran, run_quietly

httpx = pytest.importorskip("httpx", reason="httpx comes with the test extras")
pytestmark = pytest.mark.slow  # starts a server process

SAMPLES = ROOT / "sample_projects"
WORKBOOK = SAMPLES / "10_horinger_green_credit_ai.xlsx"
UPLOADS = 20


def _assess(*args: str) -> Ran:
    """``assess ARGS`` in this process (no start-up of its own)."""
    ran = run_quietly(*args)
    assert ran.returncode == 0, ran.stderr
    return ran


def _serve(database: str, *options: str, tmp: Path | None = None) -> tuple[subprocess.Popen, str]:
    """A real ``assess serve`` on a free port (its temporary folder ``tmp``), once it answers
    ``/health``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "assessment", "serve", "--port", str(port), *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **({"TMPDIR": str(tmp)} if tmp else {})}
    process = subprocess.Popen([*command, "--database", database, "--quiet"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("assess serve did not answer /health")


def _token(database: str, name: str, role: str) -> str:
    made = _assess("users", "add", name, "--role", role, "--database", database)
    return made.stdout.strip().split()[-1]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    database = str(tmp_path_factory.mktemp("served") / "register.sqlite")
    token = _token(database, "olga", "officer")
    process, url = _serve(database, "--workers", "2")
    yield url, token, process
    if process.poll() is None:
        process.kill()
        process.wait()


def _upload(url: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{url}/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=180,
    )


def test_concurrent_uploads_all_succeed_and_are_registered_once(service):
    url, token, _ = service
    with concurrent.futures.ThreadPoolExecutor(UPLOADS) as pool:
        responses = list(pool.map(lambda _: _upload(url, token), range(UPLOADS)))
    assert [r.status_code for r in responses] == [201] * UPLOADS
    ids = [r.json()["id"] for r in responses]
    listed = httpx.get(f"{url}/assessments", headers={"Authorization": f"Bearer {token}"})
    stored = [row["id"] for row in listed.json()["assessments"]]
    assert len(set(ids)) == UPLOADS and all(stored.count(i) == 1 for i in ids)


def test_sigterm_stops_the_service(service):
    url, _, process = service
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2)


def test_a_screening_cut_short_by_a_killed_service_is_marked_failed(tmp_path):
    """The service is killed (SIGKILL) during a screening and started again: the screening
    reads failed, never half-recorded, and no register row points to a missing file."""
    from assessment.service import register

    database, tmp = str(tmp_path / "register.sqlite"), tmp_path / "tmp"
    tmp.mkdir()
    token = _token(database, "rita", "reviewer")
    process, url = _serve(database, tmp=tmp)
    headers = {"Authorization": f"Bearer {token}"}
    started = _screen(url, headers)
    process.kill()
    process.wait()
    assert any((tmp / "assess-spool").rglob("*.xlsx"))  # the killed service's uploads
    process, url = _serve(database, tmp=tmp)
    try:
        assert not any((tmp / "assess-spool").rglob("*.xlsx"))  # removed at the start
        found = httpx.get(f"{url}/screenings/{started.json()['id']}", headers=headers).json()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert found["status"] == "failed" and "interrupted" in found["message"]
    engine = register.open_register(f"sqlite:///{database}")
    row = register.screening(engine, started.json()["id"])
    assert row.outputs == {} and all(register.blob(engine, key) for key in row.outputs.values())
    engine.dispose()


def _screen(url: str, headers: dict) -> httpx.Response:
    """A screening of the twelve sample workbooks (seconds of work), once it runs."""
    files = [("files", (p.name, p.read_bytes())) for p in sorted(SAMPLES.glob("*.xlsx"))]
    started = httpx.post(f"{url}/screenings", files=files, headers=headers, timeout=60)
    assert started.status_code == 202
    for _ in range(100):
        running = httpx.get(f"{url}/screenings/{started.json()['id']}", headers=headers).json()
        if running["status"] == "running":
            return started
        time.sleep(0.05)
    raise AssertionError(f"the screening did not start: {running}")


def test_a_second_service_on_the_register_leaves_the_first_ones_screening_alone(tmp_path):
    database = str(tmp_path / "register.sqlite")
    token = _token(database, "sven", "reviewer")
    headers = {"Authorization": f"Bearer {token}"}
    first, url = _serve(database)
    second = None
    try:
        started = _screen(url, headers)
        second, _ = _serve(database)  # started while the first one screens
        for _ in range(1200):
            found = httpx.get(f"{url}/screenings/{started.json()['id']}", headers=headers).json()
            if found["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
    finally:
        for process in (first, second or first):
            process.terminate()
            process.wait(timeout=30)
    assert found["status"] == "complete", found
