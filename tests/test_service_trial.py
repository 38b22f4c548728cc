"""``assess serve`` and its service tried again from README alone, as a bank new to it would
(issue 18): a port that is taken, out of range, or a host that is not this machine's is a
one-line error with exit code 1, not a traceback nor uvicorn's own exit code; an id or a
project id with a NUL is not found, on PostgreSQL as on SQLite (PostgreSQL's text holds no NUL:
it said 'a value the register cannot store' with nothing of what or where); ``assess
history`` says when a project has no assessment (not that the register is empty) and that an
assessment is not signed off (not 'signed off by -'); a request the API cannot read says
what it got, not only where and what was expected; a user's name refused for a control
character shows it (it printed the name as the terminal shows it: 'got x')."""

from __future__ import annotations

import socket

import pytest
from helpers import AS_OF, ROOT
from run_assess import run

from assessment.service import desk, register
from assessment.service.app import create_app

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")


@pytest.fixture
def taken_port():
    """A loopback port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_serve_on_a_port_that_is_taken_says_so_in_one_line(taken_port, tmp_path, capsys):
    database = str(tmp_path / "register.sqlite")
    ran = run(capsys, "serve", "--port", str(taken_port), "--database", database)
    assert ran.returncode == 1, ran
    said = ran.stderr.strip()
    assert said.startswith(f"assess serve: error: cannot listen on 127.0.0.1:{taken_port}"), said
    assert "expected a free port" in said and "in use" in said, said


def test_serve_on_a_host_that_is_not_this_machines_says_so(tmp_path, capsys):
    database = str(tmp_path / "register.sqlite")
    ran = run(capsys, "serve", "--host", "no-such-host.invalid", "--database", database)
    assert ran.returncode == 1, ran
    said = ran.stderr.strip()
    assert said.startswith("assess serve: error: cannot listen on no-such-host.invalid:8000"), said
    assert "this is a bug" not in said and "Traceback" not in said, said


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        run(capsys, "serve", "--port", "70000", "--database", str(tmp_path / "r.sqlite"))
    assert usage.value.code == 1  # a usage error, before anything starts
    said = capsys.readouterr().err
    assert "expected a port from 1 to 65535; got '70000'" in said, said


def test_an_id_or_a_project_id_with_a_nul_is_not_found_on_either_database(engine):
    token = register.add_user(engine, "nul-reviewer", "reviewer").token
    api = testclient.TestClient(create_app(engine), headers={"Authorization": f"Bearer {token}"})
    for path in ("/assessments/a%00b", "/assessments/a%00b/memo.pdf", "/screenings/a%00b"):
        answer = api.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["details"] == {"got": "a\x00b"}, answer.text
    sent = api.post("/assessments/a%00b/sign-off", json={"comments": "seen"})
    assert sent.status_code == 404, sent.text
    listed = api.get("/assessments", params={"project_id": "DC\x00"})
    assert listed.status_code == 200 and listed.json() == {"assessments": []}, listed.text


def test_history_says_not_signed_off_and_names_a_project_it_has_none_of(engine, url, capsys):
    officer = register.add_user(engine, "history-officer", "officer")
    workbook = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
    user = register.user_of_token(engine, officer.token)
    found = desk.assess_upload(engine, workbook.read_bytes(), workbook.name, user, AS_OF)
    listed = run(capsys, "history", found.project_id, "--database", url)
    assert listed.returncode == 0 and found.id in listed.stdout, listed
    assert "not signed off" in listed.stdout and "signed off by -" not in listed.stdout, listed
    none = run(capsys, "history", "NO-SUCH-PROJECT", "--database", url)
    assert none.returncode == 0, none
    assert none.stdout.strip() == "no assessment of project NO-SUCH-PROJECT in the register", none


def test_a_request_the_api_cannot_read_says_what_it_got(engine):
    officer = register.add_user(engine, "got-officer", "officer").token
    api = testclient.TestClient(create_app(engine), headers={"Authorization": f"Bearer {officer}"})
    sent = {
        "/assessments/x/decision": {"json": {"action": 5}},
        "/assessments/x/sign-off": {"json": {"decision_id": "the last"}},
        "/assessments": {"files": {"file": ("a.csv", b"x")}, "data": {"as_of": "30/06/2025"}},
    }
    got = {}
    for path, body in sent.items():
        answer = api.post(path, **body)
        assert answer.status_code == 422, answer.text
        (problem,) = answer.json()["error"]["details"]["problems"]
        got[problem["where"][-1]] = problem.get("got")
    assert got == {"action": 5, "decision_id": "the last", "as_of": "30/06/2025"}


def test_a_users_name_refused_for_a_control_character_shows_it(tmp_path, capsys):
    ran = run(
        capsys,
        "users",
        "add",
        "x\x01",
        "--role",
        "officer",
        "--database",
        str(tmp_path / "r.sqlite"),
    )
    assert ran.returncode == 1, ran
    assert ran.stderr.strip().endswith("got 'x\\x01'"), ran.stderr
