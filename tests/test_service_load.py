"""A real ``assess serve`` process on loopback (issue 18): 20 concurrent uploads all succeed
and each is in the register exactly once; SIGTERM stops the service cleanly. The latency
figures are measured by ``bench/bench_service.py``, not asserted here."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from helpers import AS_OF, ROOT

httpx = pytest.importorskip("httpx", reason="httpx comes with the test extras")
pytestmark = pytest.mark.slow  # starts a server process

SAMPLES = ROOT / "sample_projects"
WORKBOOK = SAMPLES / "10_horinger_green_credit_ai.xlsx"
UPLOADS = 20


def _assess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assessment", *args], capture_output=True, text=True, check=True
    )


def _serve(database: str) -> tuple[subprocess.Popen, str]:
    """A real ``assess serve`` on a free port, once it answers ``/health``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "assessment", "serve", "--port", str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
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
    process, url = _serve(database)
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

    database = str(tmp_path / "register.sqlite")
    token = _token(database, "rita", "reviewer")
    process, url = _serve(database)
    headers = {"Authorization": f"Bearer {token}"}
    files = [("files", (p.name, p.read_bytes())) for p in sorted(SAMPLES.glob("*.xlsx"))]
    started = httpx.post(f"{url}/screenings", files=files, headers=headers, timeout=60)
    assert started.status_code == 202
    running = httpx.get(f"{url}/screenings/{started.json()['id']}", headers=headers).json()
    assert running["status"] == "running"  # twelve workbooks take seconds: killed midway
    process.kill()
    process.wait()
    process, url = _serve(database)
    try:
        found = httpx.get(f"{url}/screenings/{started.json()['id']}", headers=headers).json()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert found["status"] == "failed" and "interrupted" in found["message"]
    engine = register.open_register(f"sqlite:///{database}")
    row = register.screening(engine, started.json()["id"])
    assert row.outputs == {} and all(register.blob(engine, key) for key in row.outputs.values())
    engine.dispose()
