"""Screenings owned by the service process that runs them (issue 18): several processes share
one register without failing each other's screenings; one whose process is gone or whose
heartbeat stopped is marked failed by any of them; a process runs a few at a time, queues a
few more and refuses the rest (429); uploads left by a killed process are removed."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import pytest
from helpers import AS_OF, ROOT

from assessment.service import register, screenings
from assessment.service.app import create_app
from assessment.service.screenings import Limits, Works, owner_gone

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")

WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
HOST = socket.gethostname()


@pytest.fixture(scope="module")
def reviewer(engine) -> register.NewUser:
    return register.add_user(engine, "rhea", "reviewer")


def _dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _facts(user: register.NewUser) -> dict:
    return {"files": 1, "as_of": AS_OF, "lang": "en", "created_by": user.name}


def test_a_process_is_gone_when_it_ended_or_is_another_one_now(tmp_path, engine):
    works = Works(engine, Limits(spool=tmp_path))
    assert not owner_gone(works.owner)  # this process's live works
    assert owner_gone(f"{HOST}/{os.getpid()}/another")  # this process id, another start
    assert owner_gone(f"{HOST}/{_dead_pid()}/x") and owner_gone("") and owner_gone("junk")
    assert not owner_gone(f"{HOST}/{os.getppid()}/x")  # alive: judged by its heartbeat
    assert not owner_gone("another-host/1/x")  # another host: judged by its heartbeat
    works.stop()
    assert owner_gone(works.owner)


def test_a_second_process_does_not_fail_the_first_ones_screening(tmp_path, engine, reviewer):
    first, second = (Works(engine, Limits(spool=tmp_path)) for _ in range(2))
    row = register.start_screening(engine, first.owner, **_facts(reviewer))
    assert register.screening_running(engine, row.id)
    second.start()  # what a second service process does at its start
    assert register.screening(engine, row.id).status == "running"
    first.stop()  # the first process is gone: the next beat of any process fails its work
    second.beat()
    found = register.screening(engine, row.id)
    assert found.status == "failed" and "interrupted" in found.message
    second.stop()


def test_a_screening_without_heartbeat_is_failed_on_a_later_beat(tmp_path, engine, reviewer):
    """A process on another host that stopped beating (killed, or its database away for
    long) leaves a screening that the beating processes fail once it is stale."""
    limits = Limits(heartbeat_seconds=0.05, stale_after=dt.timedelta(seconds=0.3), spool=tmp_path)
    app = create_app(engine, screening_limits=limits)
    row = register.start_screening(engine, "another-host/7/x", **_facts(reviewer))
    with testclient.TestClient(app):  # the service runs: its heartbeat with it
        assert register.screening(engine, row.id).status == "queued"
        deadline = time.monotonic() + 10
        while register.screening(engine, row.id).status == "queued":
            assert time.monotonic() < deadline, "the stale screening was not failed"
            time.sleep(0.05)
    assert register.screening(engine, row.id).status == "failed"


def test_a_process_queues_a_few_screenings_and_refuses_more(
    tmp_path, engine, reviewer, monkeypatch
):
    limits = Limits(at_once=1, queued=1, spool=tmp_path)
    headers = {"Authorization": f"Bearer {reviewer.token}"}
    files = [("files", (WORKBOOK.name, WORKBOOK.read_bytes()))]
    app = create_app(engine, screening_limits=limits)
    with testclient.TestClient(app) as client:
        started = [client.post("/screenings", files=files, headers=headers) for _ in range(3)]
        assert [r.status_code for r in started] == [202, 202, 429]
        busy = started[2]
        assert busy.json()["error"]["code"] == "busy" and busy.headers["retry-after"] == "60"
        for response in started[:2]:
            assert _finished(client, headers, response.json()["id"])["status"] == "complete"
        works, screen = app.state.screenings, screenings.screen_to_folder

        def running_at_the_stop(*args, **options):  # the engine may finish before the stop
            works.stopping.wait(60)
            for _ in range(100):  # until the stop has recorded it (its thread runs on)
                if register.screening(engine, last.json()["id"]).status == "failed":
                    break
                time.sleep(0.1)
            return screen(*args, **options)

        monkeypatch.setattr(screenings, "screen_to_folder", running_at_the_stop)
        many = [("files", (f.name, f.read_bytes())) for f in sorted(WORKBOOK.parent.glob("*.xlsx"))]
        last = client.post("/screenings", files=many, headers=headers)
        assert last.status_code == 202
        app.state.screenings.stop(wait_seconds=60)  # the service stops: its thread ends
    assert not any(tmp_path.rglob("*.xlsx"))  # each upload removed, the last one's at the stop
    found = register.screening(engine, last.json()["id"])  # not waited for at the stop
    assert found.status == "failed" and found.message == screenings.STOPPED


def _finished(client, headers: dict, screening_id: str) -> dict:
    for _ in range(600):
        found = client.get(f"/screenings/{screening_id}", headers=headers).json()
        if found["status"] not in register.ACTIVE:
            return found
        time.sleep(0.1)
    raise AssertionError("the screening did not finish within a minute")


def test_uploads_left_by_a_killed_process_are_removed_at_start(tmp_path, engine):
    left = tmp_path / f"{_dead_pid()}-dead"
    (left / "assess-screening-x").mkdir(parents=True)
    (left / "assess-screening-x" / "a.xlsx").write_bytes(b"PK")
    alive = tmp_path / f"{os.getppid()}-alive"  # another live process's uploads
    alive.mkdir()
    works = Works(engine, Limits(spool=tmp_path))
    works.start()
    works.stop()
    assert not left.exists() and alive.exists()


def test_the_default_limits_keep_uploads_in_the_temporary_folder():
    assert screenings.SPOOL.parent == screenings.Path(screenings.tempfile.gettempdir())
    assert Limits().at_once >= 1 and Limits().stale_after > dt.timedelta(
        seconds=Limits().heartbeat_seconds * 3
    )


def test_two_processes_storing_the_same_file_at_once_both_succeed(url, engine, reviewer):
    """Two service processes (two engines on one register) keep the same upload at the same
    moment: both assessments are stored, the file once."""
    import concurrent.futures

    other = register.open_register(url)
    content = os.urandom(4096)  # a file no other test stores
    facts = {
        "project_id": "RACE-1",
        "file_name": "race.xlsx",
        "record": {},
        "result": {},
        "rule_versions": {},
        "model_sha256": "0" * 64,
        "engine_version": "test",
        "as_of": AS_OF,
        "lang": "en",
        "recommendation": "refer",
        "created_by": reviewer.name,
    }
    stores = [engine, other] * 4
    try:
        with concurrent.futures.ThreadPoolExecutor(len(stores)) as pool:
            rows = list(
                pool.map(lambda e: register.record_assessment(e, content, content, **facts), stores)
            )
    finally:
        other.dispose()
    assert len({row.id for row in rows}) == len(stores)
    assert len(register.assessments(engine, project_id="RACE-1")) == len(stores)
    assert register.blob(engine, rows[0].file_sha256) == content


def test_an_upload_sent_without_its_size_is_cut_off_at_the_limit(engine, reviewer):
    """A chunked body (no Content-Length) is counted as it arrives and answered 413 in the
    error shape once past the limit: the rest is never read nor stored."""
    from assessment.service import desk

    app = create_app(engine)
    sent = []

    def chunks():  # a multipart form whose one file never ends
        yield b'--cut\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(desk.MAX_UPLOAD_BYTES // (1 << 20) + 3):
            sent.append(1)
            yield b"x" * (1 << 20)

    kind = "multipart/form-data; boundary=cut"
    headers = {"Authorization": f"Bearer {reviewer.token}", "content-type": kind}
    with testclient.TestClient(app) as client:
        response = client.post("/assessments", content=chunks(), headers=headers)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    limit = f"at most {desk.MAX_UPLOAD_BYTES:,} bytes"  # the README's 20 MB, as one figure
    said = response.json()["error"]["details"]
    assert said == {"got": f"more than {limit[len('at most ') :]}", "expected": limit}
    headers["content-length"] = str(desk.MAX_UPLOAD_BYTES * 2)
    with testclient.TestClient(app) as client:  # announced: refused before it is read
        response = client.post("/assessments", content=b"x", headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["details"]["expected"] == limit
