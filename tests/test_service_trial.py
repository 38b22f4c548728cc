"""``assess serve`` and its service tried again from README alone, as a bank new to it would
(issue 18): a port that is taken, out of range, or a host that is not this machine's is a
one-line error with exit code 1, not a traceback nor uvicorn's own exit code."""

from __future__ import annotations

import socket

import pytest
from run_assess import run


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
