"""The web service and its register (issue 18), on SQLite and on the PostgreSQL server of the
test machines (127.0.0.1:5432, database ``test``): a missing server fails these tests, it does
not skip them. Each PostgreSQL run works in a schema of its own, dropped afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import AS_OF, ROOT

from assessment.cli import main
from assessment.service import desk, register
from assessment.service.app import create_app
from assessment.service.screenings import OUTPUTS

testclient = pytest.importorskip("fastapi.testclient", reason="httpx comes with the test extras")

SAMPLES = ROOT / "sample_projects"
WORKBOOK = SAMPLES / "10_horinger_green_credit_ai.xlsx"  # approve with conditions
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def users(engine) -> dict:
    return {
        name: register.add_user(engine, name, role)
        for name, role in (("alice", "officer"), ("carol", "officer"), ("bob", "reviewer"))
    }


@pytest.fixture(scope="module")
def client(engine):
    app = create_app(engine)
    yield testclient.TestClient(app)
    app.state.screenings.stop(
        wait_seconds=60
    )  # before the register goes: no screening left to run on it


def signed(user: register.NewUser) -> dict:
    return {"Authorization": f"Bearer {user.token}"}


@pytest.fixture(scope="module")
def uploaded(client, users) -> dict:
    response = client.post(
        "/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=signed(users["alice"]),
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def decided(client, users) -> dict:
    """An assessment of its own, overridden by its officer and signed off by a reviewer (each
    test stands alone: the workers of a parallel run share no state)."""
    response = client.post(
        "/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=signed(users["alice"]),
    )
    path = f"/assessments/{response.json()['id']}"
    override = {"action": "override", "outcome": "refer", "reason": "site visit needed"}
    assert client.post(f"{path}/decision", json=override, headers=signed(users["alice"])).is_success
    assert client.post(f"{path}/sign-off", json={}, headers=signed(users["bob"])).is_success
    return response.json()


def test_an_upload_gives_the_score_json_of_its_project_with_an_id(uploaded, capsys):
    assert main(["score", str(WORKBOOK), "--as-of", str(AS_OF), "--format", "json"]) == 0
    import json

    expected = json.loads(capsys.readouterr().out)["projects"][0]
    assert {k: uploaded[k] for k in expected} == expected
    assert uploaded["recommendation"] == "approve_with_conditions"
    assert uploaded["file_name"] == WORKBOOK.name
    assert uploaded["links"]["memo"] == f"/assessments/{uploaded['id']}/memo.pdf"


def test_the_register_keeps_file_record_memo_and_method(engine, uploaded):
    found = register.assessment(engine, uploaded["id"])
    assert register.blob(engine, found.file_sha256) == WORKBOOK.read_bytes()
    assert register.blob(engine, found.memo_sha256).startswith(b"%PDF")
    assert found.record["project_id"] == "DC-2025-010" and found.created_by == "alice"
    assert found.rule_versions["green_dc_cn"] and len(found.model_sha256) == 64
    assert found.as_of.isoformat() == str(AS_OF)


def test_every_request_needs_a_token_and_errors_have_one_shape(client, users):
    for response in (
        client.get("/assessments"),
        client.get("/assessments", headers={"Authorization": "Bearer wrong"}),
    ):
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert set(response.json()["error"]) == {"code", "message", "details"}
    missing = client.get("/assessments/nope", headers=signed(users["bob"]))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("notes.txt", b"hello", 415, "unsupported_type"),
        ("empty.xlsx", b"", 422, "invalid"),
        ("broken.xlsx", b"PK\x03\x04 not a zip", 422, "invalid"),
        ("two.csv", b"project_id,pue\nA,1.3\nB,1.4\n", 422, "invalid"),
    ],
)
def test_a_bad_upload_is_refused_in_the_error_shape(client, users, name, content, status, code):
    response = client.post(
        "/assessments", files={"file": (name, content)}, headers=signed(users["alice"])
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_an_officer_sees_only_their_own_assessments(client, users, uploaded):
    path = f"/assessments/{uploaded['id']}"
    assert client.get(path, headers=signed(users["carol"])).status_code == 404
    assert client.get(path, headers=signed(users["bob"])).status_code == 200
    listed = client.get("/assessments", headers=signed(users["carol"])).json()["assessments"]
    assert uploaded["id"] not in [row["id"] for row in listed]


def test_decide_then_sign_off_with_four_eyes(client, users, uploaded, engine):
    path = f"/assessments/{uploaded['id']}"
    no_reason = {"action": "override", "outcome": "refer"}
    assert (
        client.post(f"{path}/decision", json=no_reason, headers=signed(users["alice"])).json()[
            "error"
        ]["code"]
        == "invalid"
    )
    override = {**no_reason, "reason": "site visit needed before the offer"}
    made = client.post(f"{path}/decision", json=override, headers=signed(users["alice"]))
    assert made.status_code == 201 and made.json()["outcome"] == "refer"
    reviewer_decides = client.post(f"{path}/decision", json=override, headers=signed(users["bob"]))
    assert reviewer_decides.status_code == 403
    own = client.post(f"{path}/sign-off", json={}, headers=signed(users["alice"]))
    assert own.status_code == 403
    done = client.post(
        f"{path}/sign-off", json={"comments": "agreed"}, headers=signed(users["bob"])
    )
    assert done.status_code == 201 and done.json()["outcome"] == "refer"
    kinds = [(e.kind, e.actor) for e in register.events(engine, uploaded["id"])]
    assert kinds == [("decision", "alice"), ("sign_off", "bob")]


def test_a_reprint_is_the_first_print_plus_its_trail(engine, decided, client, users):
    found = register.assessment(engine, decided["id"])
    first = register.blob(engine, found.memo_sha256)
    assert desk.reprint(engine, decided["id"], with_trail=False) == first  # byte for byte
    memo = client.get(f"/assessments/{decided['id']}/memo.pdf", headers=signed(users["bob"]))
    assert memo.headers["content-type"] == "application/pdf"
    pypdf = pytest.importorskip("pypdf")
    import io

    reprinted, original = (pypdf.PdfReader(io.BytesIO(b)) for b in (memo.content, first))
    last = reprinted.pages[-1].extract_text()
    assert "Decision trail" in last and "site visit needed" in last
    assert len(reprinted.pages) >= len(original.pages)
    same = [
        reprinted.pages[i].extract_text() == original.pages[i].extract_text()
        for i in range(len(original.pages) - 1)
    ]
    assert all(same)  # the pages before the trail are those of the first print


def test_the_register_commands(url, users, decided, tmp_path, capsys):
    assert main(["history", "DC-2025-010", "--database", url, "--format", "json"]) == 0
    import json

    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)["assessments"]}
    assert rows[decided["id"]]["decision"] == "refer"
    assert rows[decided["id"]]["signed_off_by"] == "bob"
    out = tmp_path / "memo.pdf"
    assert main(["reprint", decided["id"], "-o", str(out), "--no-trail", "--database", url]) == 0
    assert out.read_bytes()[:4] == b"%PDF"
    assert main(["reprint", "unknown", "-o", str(tmp_path / "x.pdf"), "--database", url]) == 1
    assert "no assessment has this id" in capsys.readouterr().err


def test_users_add_prints_a_token_once_and_keeps_only_its_hash(url, engine, capsys):
    assert main(["users", "add", "dave", "--role", "reviewer", "--database", url]) == 0
    token = capsys.readouterr().out.strip().split()[-1]
    user = register.user_of_token(engine, token)
    assert user.name == "dave" and user.role == "reviewer" and user.token_sha256 != token
    assert main(["users", "add", "dave", "--role", "reviewer", "--database", url]) == 1
    assert "exists already" in capsys.readouterr().err


def test_a_database_that_is_down_gives_503_in_the_error_shape():
    down = register.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = testclient.TestClient(create_app(down))
    response = client.get("/health")
    down.dispose()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_the_migrations_make_the_models_schema(engine):
    """Alembic's head is what the models describe: nothing left to migrate."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, register.Base.metadata) == []


def _finished(client, user, screening_id: str) -> dict:
    import time

    for _ in range(600):
        found = client.get(f"/screenings/{screening_id}", headers=signed(user)).json()
        if found["status"] not in register.ACTIVE:
            return found
        time.sleep(0.1)
    raise AssertionError("the screening did not finish within a minute")


def test_a_screening_runs_in_the_background_and_its_outputs_download(client, users):
    listed = SAMPLES / "candidates" / "plausibility_checks.csv"
    files = [("files", (p.name, p.read_bytes())) for p in (WORKBOOK, listed)]
    started = client.post(
        "/screenings", files=files, data={"as_of": str(AS_OF)}, headers=signed(users["bob"])
    )
    assert started.status_code == 202 and started.json()["status"] in ("queued", "running")
    done = _finished(client, users["bob"], started.json()["id"])
    assert done["status"] == "complete", done
    assert done["counts"]["projects_scored"] == 18 and done["counts"]["rejected"] == 0
    summary = client.get(done["links"]["summary.pdf"], headers=signed(users["bob"]))
    assert summary.headers["content-type"] == "application/pdf"
    assert summary.content.startswith(b"%PDF")
    workbook = client.get(done["links"]["screening.xlsx"], headers=signed(users["bob"]))
    assert workbook.content[:2] == b"PK"
    unknown = client.get(done["links"]["summary.pdf"] + "x", headers=signed(users["bob"]))
    assert unknown.status_code == 404  # says which outputs there are
    assert set(unknown.json()["error"]["details"]["expected"].split(", ")) == set(OUTPUTS)


def test_only_a_reviewer_screens_and_bad_files_are_listed_not_lost(client, users):
    files = [("files", ("broken.xlsx", b"PK\x03\x04 not a workbook"))]
    officer = client.post("/screenings", files=files, headers=signed(users["alice"]))
    assert officer.status_code == 403 and officer.json()["error"]["code"] == "forbidden"
    assert officer.json()["error"]["details"] == {"expected": "reviewer", "got": "officer"}
    started = client.post("/screenings", files=files, headers=signed(users["bob"]))
    done = _finished(client, users["bob"], started.json()["id"])
    assert done["status"] == "complete" and done["counts"]["rejected"] == 1
    missing = client.get("/screenings/unknown", headers=signed(users["bob"]))
    assert missing.status_code == 404


def test_a_reviewer_does_not_assess(client, users):
    response = client.post(
        "/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        headers=signed(users["bob"]),
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_the_trail_rules_hold(client, users):
    """Accept takes the engine's outcome (another is an override); a reviewer signs a decision
    off once; text has a limit; a NUL is refused in the error shape on both databases."""
    response = client.post(
        "/assessments",
        files={"file": (WORKBOOK.name, WORKBOOK.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=signed(users["alice"]),
    )
    path = f"/assessments/{response.json()['id']}"
    alice, bob = signed(users["alice"]), signed(users["bob"])
    stated = {"action": "accept", "outcome": "decline", "reason": "no"}
    assert client.post(f"{path}/decision", json=stated, headers=alice).status_code == 422
    long = {"action": "accept", "comments": "x" * (desk.MAX_TEXT + 1)}
    assert client.post(f"{path}/decision", json=long, headers=alice).status_code == 422
    nul = {"action": "override", "outcome": "decline", "reason": "a\u0000b"}
    refused = client.post(f"{path}/decision", json=nul, headers=alice)
    assert refused.status_code in (201, 422)  # stored (SQLite) or refused (PostgreSQL): no 500
    assert client.get("/assessments/a%00b", headers=bob).status_code in (404, 422)
    assert client.post(f"{path}/decision", json={"action": "accept"}, headers=alice).is_success
    assert client.post(f"{path}/sign-off", json={}, headers=bob).status_code == 201
    again = client.post(f"{path}/sign-off", json={}, headers=bob)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.get(path, headers=bob).json()["created_at"].endswith("+00:00")


def test_history_pairs_a_sign_off_with_the_decision_it_signed(engine, users, url, capsys):
    import json

    alice = register.user_of_token(engine, users["alice"].token)
    bob = register.user_of_token(engine, users["bob"].token)
    found = desk.assess_upload(engine, WORKBOOK.read_bytes(), WORKBOOK.name, alice, AS_OF)
    desk.decide(engine, alice, found.id, "accept")
    desk.sign_off(engine, bob, found.id)
    desk.decide(engine, alice, found.id, "override", outcome="decline", reason="new facts")
    assert main(["history", "DC-2025-010", "--database", url, "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["assessments"]}
    assert rows[found.id]["decision"] == "decline" and rows[found.id]["signed_off_by"] is None
    assert rows[found.id]["file_name"] == WORKBOOK.name


def test_a_plain_postgresql_url_opens_the_register_with_the_declared_driver(engine, url, capsys):
    """``--database postgresql://...``, as people write it, is read with psycopg 3 (SQLAlchemy
    alone would look for psycopg2, which the project does not install)."""
    assert register.database_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert register.database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert register.database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    assert main(["history", "--database", plain, "--format", "json"]) == 0
    assert "assessments" in capsys.readouterr().out


def test_a_folder_named_as_the_register_is_said_to_be_a_folder(tmp_path, capsys):
    for command in (["users", "list"], ["users", "add", "x", "--role", "officer"]):
        assert main([*command, "--database", str(tmp_path)]) == 1
        said = capsys.readouterr().err
        assert "is a folder, not a file" in said and str(tmp_path / "register.sqlite") in said


def test_a_register_that_cannot_be_reached_is_an_error_not_a_bug(capsys):
    args = ["history", "--database", "postgresql+psycopg://nobody@127.0.0.1:1/none"]
    assert main(args) == 1
    assert "cannot be reached" in capsys.readouterr().err


def test_a_user_name_is_short_and_printable(engine):
    for name in ("y" * 300, "nul\x01x", "  "):
        with pytest.raises(register.RegisterError):
            register.add_user(engine, name, "officer")


def test_a_screening_marked_failed_stays_failed(engine, users):
    """A screening marked failed as abandoned is not flipped back to complete by its thread."""
    bob = register.user_of_token(engine, users["bob"].token)
    facts = {"files": 1, "as_of": AS_OF, "lang": "en", "created_by": bob.name}
    row = register.start_screening(engine, "elsewhere/1/x", **facts)
    assert register.screening_running(engine, row.id)
    assert register.fail_abandoned(engine, dt.timedelta(hours=1), lambda o: o == row.owner) == 1
    register.finish_screening(engine, row.id, {"manifest.json": b"{}"}, {"files": 1})
    found = register.screening(engine, row.id)
    assert found.status == "failed" and found.outputs == {} and "interrupted" in found.message


def test_errors_and_warnings_name_the_upload_never_the_service_folder(client, users):
    broken = client.post(
        "/assessments",
        files={"file": ("two.csv", b"project_id,pue\nA,1.3\nB,-4\n")},
        headers=signed(users["alice"]),
    )
    assert broken.status_code == 422 and "assess-upload-" not in broken.text
    sample = SAMPLES / "04_beijing_retrofit_high_pue.xlsx"  # a warning: a field left blank
    done = client.post(
        "/assessments",
        files={"file": (sample.name, sample.read_bytes())},
        data={"as_of": str(AS_OF)},
        headers=signed(users["alice"]),
    )
    problems = done.json()["problems"]
    assert problems and {p["severity"] for p in problems} == {"warning"}
    assert all(p["file"] == sample.name for p in problems), problems


def test_reading_a_register_that_is_not_there_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nothere.sqlite"
    assert main(["history", "--database", str(missing)]) == 1
    assert "no register there" in capsys.readouterr().err and not missing.exists()


def test_a_token_is_replaced_or_revoked_and_the_old_one_opens_nothing(url, engine, client, capsys):
    assert main(["users", "add", "erin", "--role", "officer", "--database", url]) == 0
    first = capsys.readouterr().out.strip().split()[-1]
    assert client.get("/assessments", headers={"Authorization": f"Bearer {first}"}).is_success
    assert main(["users", "token", "erin", "--database", url]) == 0
    second = capsys.readouterr().out.strip().split()[-1]
    assert (
        client.get("/assessments", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    )
    assert client.get("/assessments", headers={"Authorization": f"Bearer {second}"}).is_success
    assert main(["users", "token", "erin", "--revoke", "--database", url]) == 0
    assert "token revoked" in capsys.readouterr().out
    assert (
        client.get("/assessments", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    )
    assert main(["users", "list", "--database", url]) == 0
    listed = capsys.readouterr().out
    assert "erin" in listed and "(token revoked)" in listed and second not in listed


def test_an_upload_is_refused_before_its_body_is_read(client, users):
    """No token: 401; a body announcing more than the limit: 413 (neither reads the body)."""
    big = b"x" * (desk.MAX_UPLOAD_BYTES + (2 << 20))
    files = {"file": ("big.csv", big)}
    assert client.post("/assessments", files=files).status_code == 401
    refused = client.post("/assessments", files=files, headers=signed(users["alice"]))
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large"


def test_the_trails_of_many_assessments_come_in_one_query(engine, decided):
    found = register.events_of(engine, [decided["id"], "none"])
    assert [e.kind for e in found[decided["id"]]] == ["decision", "sign_off"]
    assert found["none"] == [] and register.events_of(engine, []) == {}
    assert [e.id for e in found[decided["id"]]] == [
        e.id for e in register.events(engine, decided["id"])
    ]


def test_a_long_reason_is_printed_whole_in_the_reprinted_memo(engine, users):
    pypdf = pytest.importorskip("pypdf")
    import io

    alice = register.user_of_token(engine, users["alice"].token)
    found = desk.assess_upload(engine, WORKBOOK.read_bytes(), WORKBOOK.name, alice, AS_OF)
    reason = " ".join(f"word{i}" for i in range(400)) + " the-last-word"
    desk.decide(engine, alice, found.id, "override", outcome="refer", reason=reason)
    memo = pypdf.PdfReader(io.BytesIO(desk.reprint(engine, found.id)))
    text = " ".join(page.extract_text() for page in memo.pages[-3:])
    assert "the-last-word" in text and "word399" in text
