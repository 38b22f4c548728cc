"""URL inputs tried as a newcomer would (issue 19): the manifest gives a URL's file its SHA-256
as it does a local file's (streamed through fsspec; null, and the run complete, when the file
cannot be read again by then)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from helpers import AS_OF, ROOT

from assessment.cli import main
from assessment.intake.urls import input_sha256
from assessment.screening.batch import screen_inputs
from assessment.screening.records import Settings

WORKBOOK = ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx"
SETTINGS = Settings(as_of=AS_OF, model=None)
SCREEN = ["screen", "--as-of", "2025-06-30", "--no-model", "--jobs", "1"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workbook(tmp_path) -> Path:
    """The sample workbook in a folder of its own."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    return Path(shutil.copy(WORKBOOK, folder / WORKBOOK.name))


@pytest.fixture
def in_memory():
    """The sample workbook at memory:///trial/<name>, removed afterwards."""
    fs = fsspec.filesystem("memory")
    fs.pipe(f"/trial/{WORKBOOK.name}", WORKBOOK.read_bytes())
    yield f"memory:///trial/{WORKBOOK.name}"
    if fs.exists("/trial"):
        fs.rm("/trial", recursive=True)


def hashes(manifest: dict) -> dict[str, str | None]:
    return {item["path"]: item["sha256"] for item in manifest["inputs"]}


# -- the SHA-256 of URL inputs in the manifest -------------------------------------------------


def test_an_input_digest_is_the_same_for_a_local_path_a_file_url_and_a_memory_url(
    workbook, in_memory
):
    expected = digest(WORKBOOK)
    assert input_sha256(str(workbook)) == input_sha256(workbook.as_uri()) == expected
    assert input_sha256(in_memory) == expected


@pytest.mark.parametrize(
    "name", ["missing.xlsx", "memory:///trial/none.xlsx", "nosuchproto://x.csv", "folder"]
)
def test_an_input_that_cannot_be_read_has_no_digest(tmp_path, name):
    (tmp_path / "folder").mkdir()
    assert input_sha256(name if "://" in name else str(tmp_path / name)) is None


def test_the_manifest_gives_url_inputs_their_sha256(workbook, in_memory):
    """It gave null to every URL input."""
    found = screen_inputs([workbook.as_uri(), in_memory], SETTINGS, jobs=1)
    assert found.manifest["counts"]["projects_scored"] == 1  # the same project twice
    assert hashes(found.manifest) == {WORKBOOK.name: digest(WORKBOOK)}
    assert found.manifest["counts"]["files"] == 2


class LockedFileSystem(MemoryFileSystem):
    """memory:// whose files, once ``locked``, can still be listed but not opened: an access
    revoked or a storage failing its reads between the screening and the manifest."""

    protocol = "triallocked"
    locked = False

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.replace("triallocked://", "memory://", 1))

    def _open(self, path, mode="rb", **options):
        if LockedFileSystem.locked:
            raise PermissionError(f"access to {path} revoked")
        return super()._open(path, mode, **options)


@pytest.fixture
def locked_url():
    fsspec.register_implementation("triallocked", LockedFileSystem, clobber=True)
    fs = LockedFileSystem()
    fs.pipe(f"/locked-trial/{WORKBOOK.name}", WORKBOOK.read_bytes())
    yield f"triallocked:///locked-trial/{WORKBOOK.name}"
    LockedFileSystem.locked = False
    fs.rm("/locked-trial", recursive=True)


def test_a_url_unreadable_when_the_manifest_is_made_has_a_null_sha256(locked_url):
    """Read and scored, then locked (at the last chunk's progress call), before the manifest
    hashes it: its projects stay scored and listed, its digest is unknown (null: a digest of
    anything else would be a false record), and the run completes."""
    assert input_sha256(locked_url) == digest(WORKBOOK)

    def lock(*progress):
        LockedFileSystem.locked = True

    found = screen_inputs([locked_url], SETTINGS, jobs=1, progress=lock)
    assert input_sha256(locked_url) is None
    [item] = found.manifest["inputs"]
    assert item == {
        "path": WORKBOOK.name,
        "sha256": None,
        "projects": [item["projects"][0]],
        "rejected": [],
    }
    assert found.manifest["counts"] == {"files": 1, "projects_scored": 1, "rejected": 0}


@pytest.mark.xfail(
    strict=True,
    reason="screening/batch.py lists the inputs again for the manifest (_input_files), after "
    "the screening: a file gone by then is left out of it; screening/ is being edited by "
    "another engineer (fix: list them once, from the plan)",
)
def test_a_url_gone_before_the_manifest_is_still_listed_in_it(in_memory):
    fs = fsspec.filesystem("memory")
    found = screen_inputs([in_memory], SETTINGS, jobs=1, progress=lambda *done: fs.rm(in_memory))
    [item] = found.manifest["inputs"]
    assert item["sha256"] is None and len(item["projects"]) == 1


def test_assess_screen_writes_the_sha256_of_file_and_memory_urls(workbook, in_memory, tmp_path):
    out = tmp_path / "out"
    assert main([*SCREEN, workbook.as_uri(), "-o", str(out)]) == 0
    assert hashes(json.loads((out / "manifest.json").read_text())) == {
        WORKBOOK.name: digest(WORKBOOK)
    }
    assert main([*SCREEN, in_memory, "-o", str(out)]) == 0  # the same process: the same memory
    assert hashes(json.loads((out / "manifest.json").read_text())) == {
        WORKBOOK.name: digest(WORKBOOK)
    }


@pytest.mark.slow
def test_on_dask_the_client_hashes_the_url_inputs_the_workers_read(workbook, tmp_path):
    """A LocalCluster of one worker process reads the file:// URL; the client hashes it."""
    out = tmp_path / "out"
    code = main(
        [*SCREEN[:-2], "--engine", "dask", "--jobs", "1", workbook.as_uri(), "-o", str(out)]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert code == 0 and manifest["counts"]["projects_scored"] == 1
    assert hashes(manifest) == {WORKBOOK.name: digest(WORKBOOK)}
