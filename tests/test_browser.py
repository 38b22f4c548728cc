"""The pages end to end in a real browser (issue 18): Playwright drives Debian's ``chromium``
(``/usr/bin/chromium``, installed by ``.ci/run``; never Playwright's own browser download)
against a real ``assess serve`` process on a free loopback port, its register a new SQLite
file, its users made by ``assess users add``.

The story: an officer signs in, uploads a sample workbook, sees the decision, overrides it
with a reason (after being told that an override needs one); a reviewer signs it off and
downloads the memo; a second officer cannot see the first one's assessment; a reviewer
starts a screening and watches it to the end. Each page is
photographed at 1366 x 768 (a laptop screen) and compared with its golden PNG in
``tests/golden/web/`` (mean absolute difference per channel; ``--update-golden`` rewrites
them; timestamps are masked). Keyboard: Tab reaches the form fields and buttons in order, and
every field has a label.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import AS_OF, ROOT
from run_assess import run_quietly

httpx = pytest.importorskip("httpx", reason="httpx comes with the test extras")
pytestmark = pytest.mark.slow  # starts a server process and a browser

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package
WORKBOOK = ROOT / "sample_projects" / "10_horinger_green_credit_ai.xlsx"
GOLDEN = ROOT / "tests" / "golden" / "web"
SCREEN = {"width": 1366, "height": 768}
TOLERANCE = 2.0  # mean absolute difference per channel (0-255) a page may drift by
USERS = {"alice": "officer", "carol": "officer", "dora": "officer", "bob": "reviewer"}


def _assess(*args: str) -> str:
    """``assess ARGS`` in this process (no start-up of its own); what it printed."""
    ran = run_quietly(*args)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real ``assess serve`` and the tokens ``assess users add`` printed for its users."""
    database = str(tmp_path_factory.mktemp("browser") / "register.sqlite")
    tokens = {
        name: _assess("users", "add", name, "--role", role, "--database", database).split()[-1]
        for name, role in USERS.items()
    }
    port = _free_port()
    command = [sys.executable, "-m", "assessment", "serve", "--port", str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*command, "--database", database, "--quiet"], env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_for(url, process)
    yield url, tokens
    process.terminate()
    process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(600):
        assert process.poll() is None, "assess serve stopped before it answered"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"assess serve did not answer at {url} within a minute")


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is missing ({CHROMIUM}): apt-get install -y chromium "
            "(.ci/run installs it; Playwright's own browser download is not used)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def shots(request):
    """Screenshots taken in a test, compared with their golden PNGs when it ends."""
    taken: dict[str, np.ndarray] = {}
    yield taken
    update = request.config.getoption("--update-golden")
    drifts = {name: _compared(name, image, update) for name, image in taken.items()}
    over = {name: f"{drift:.2f}" for name, drift in drifts.items() if drift > TOLERANCE}
    assert not over, (
        f"pages differ from tests/golden/web/ by more than {TOLERANCE} per channel: {over}; "
        "look at them, then run pytest --slow --update-golden tests/test_browser.py"
    )


def _compared(name: str, image: np.ndarray, update: bool) -> float:
    from PIL import Image

    golden = GOLDEN / f"{name}.png"
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.astype(np.uint8)).save(golden, optimize=True)
    assert golden.exists(), f"{golden.relative_to(ROOT)} is missing: run with --update-golden"
    kept = np.asarray(Image.open(golden).convert("RGB"), dtype=np.int16)
    assert kept.shape == image.shape, f"{name}: the screenshot's size changed"
    return float(np.abs(kept - image).mean())


def photograph(page, name: str, shots: dict, masked: str = ".when") -> None:
    """The page as a laptop shows it, its timestamps (and ids) masked."""
    import io

    from PIL import Image

    png = page.screenshot(mask=[page.locator(masked)], animations="disabled", caret="hide")
    shots[name] = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def signed_in(chromium, url: str, token: str, lang: str = "en"):
    """A browser window of its own (cookies apart), signed in through the sign-in form."""
    context = chromium.new_context(viewport=SCREEN, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{url}/web/language/{lang}?next=/web/sign-in")
    page.get_by_label({"en": "API token", "zh": "API 令牌"}[lang]).fill(token)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{url}/web/register")
    return page


def upload(page, url: str) -> str:
    """Upload the sample workbook through the form; the decision page's path."""
    page.goto(f"{url}/web/upload")
    page.locator("#file").set_input_files(str(WORKBOOK))
    page.locator("#as_of").fill(str(AS_OF))
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/web/assessments/*?saved=upload", timeout=120_000)
    return page.url.removeprefix(url).split("?")[0]


def test_the_officer_and_the_reviewer_in_a_browser(chromium, served, shots, tmp_path):
    url, tokens = served
    page = chromium.new_page(viewport=SCREEN)
    page.goto(f"{url}/web/register")
    assert page.url == f"{url}/web/sign-in?next=/web/register"
    photograph(page, "sign_in_en", shots)
    page.close()

    alice = signed_in(chromium, url, tokens["alice"])
    alice.goto(f"{url}/web/upload")
    alice.get_by_label("Application workbook").set_input_files(str(WORKBOOK))
    alice.get_by_label("Assessment date").fill(str(AS_OF))
    alice.get_by_label("Assessment date").blur()
    photograph(alice, "upload_en", shots)
    alice.get_by_role("button", name="Assess", exact=True).click()
    alice.wait_for_url("**/web/assessments/*?saved=upload", timeout=120_000)
    path = alice.url.removeprefix(url).split("?")[0]
    assert alice.locator(".recommendation").inner_text() == "APPROVE WITH CONDITIONS"
    assert alice.locator("table.criteria tbody tr").count() > 40
    photograph(alice, "decision_en", shots)

    alice.get_by_label("Override to another outcome").check()
    alice.get_by_label("Outcome of an override").select_option("refer")
    alice.get_by_role("button", name="Record the decision").click()
    assert "a decision to override needs a reason" in alice.get_by_role("alert").inner_text()
    photograph(alice, "decision_refused_en", shots)
    alice.get_by_label("Reason", exact=True).fill("site visit needed before the offer")
    alice.get_by_role("button", name="Record the decision").click()
    alice.wait_for_url(f"{url}{path}?saved=decision")
    assert "site visit needed before the offer" in alice.locator(".trail").inner_text()

    bob = signed_in(chromium, url, tokens["bob"])
    photograph(bob, "register_reviewer_en", shots)
    bob.locator(f'a[href="{path}"]').click()
    bob.get_by_label("Comments", exact=True).fill("agreed")
    bob.get_by_role("button", name="Sign off").click()
    bob.wait_for_url(f"{url}{path}?saved=sign_off")
    assert "signed off by bob" in bob.locator(".stage").inner_text()
    photograph(bob, "decision_signed_off_en", shots)
    with bob.expect_download() as download:
        bob.get_by_role("link", name="Memo (PDF)").click()
    memo = tmp_path / "memo.pdf"
    download.value.save_as(memo)
    assert memo.read_bytes().startswith(b"%PDF") and download.value.suggested_filename.endswith(
        ".pdf"
    )
    bob.get_by_role("link", name="Result (JSON)").click()
    assert f'"id":"{path.split("/")[-1]}"' in bob.locator("body").inner_text().replace(" ", "")


def test_a_colleague_cannot_see_the_assessment(chromium, served, shots):
    url, tokens = served
    path = upload(signed_in(chromium, url, tokens["alice"]), url)
    carol = signed_in(chromium, url, tokens["carol"])
    assert carol.locator(f'a[href="{path}"]').count() == 0
    response = carol.goto(f"{url}{path}")
    assert response.status == 404
    assert "no assessment has this id" in carol.get_by_role("alert").inner_text()
    photograph(carol, "not_found_en", shots, ".when, .detail")  # the id asked for
    memo = carol.goto(f"{url}{path}/memo.pdf")
    assert memo.status == 404


def test_the_pages_in_chinese(chromium, served, shots):
    url, tokens = served
    page = signed_in(chromium, url, tokens["dora"], "zh")  # her register: this assessment
    path = upload(page, url)
    page.goto(f"{url}{path}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".recommendation").inner_text() == "附条件批准"
    photograph(page, "decision_zh", shots)
    page.goto(f"{url}/web/register")
    photograph(page, "register_zh", shots)


def test_a_reviewer_screens_a_batch_and_watches_it(chromium, served, shots, tmp_path):
    url, tokens = served
    bob = signed_in(chromium, url, tokens["bob"])
    bob.get_by_role("link", name="Screenings").click()
    bob.get_by_label("Workbooks or lists").set_input_files([str(WORKBOOK)])
    bob.get_by_label("Assessment date").fill(str(AS_OF))
    bob.get_by_label("Assessment date").blur()
    assert _unlabelled(bob) == []
    photograph(bob, "screening_form_en", shots)
    bob.get_by_role("button", name="Start the screening").click()
    bob.wait_for_url(f"{url}/web/screenings/*")
    bob.get_by_text("Complete", exact=True).wait_for(timeout=120_000)  # the page reloads itself
    assert bob.locator("progress").get_attribute("value") == bob.locator("progress").get_attribute(
        "max"
    )
    photograph(bob, "screening_en", shots)
    with bob.expect_download() as download:
        bob.get_by_role("link", name="Summary (PDF)").click()
    summary = tmp_path / "summary.pdf"
    download.value.save_as(summary)
    assert summary.read_bytes().startswith(b"%PDF")


def _tab_order(page, presses: int) -> list[str]:
    """What Tab reaches, press by press, from the top of a page just opened (an element held
    over several presses, as a date's parts, counts once)."""
    reached: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        found = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || e.getAttribute('name') || e.textContent.trim(); }"
        )
        if not reached or reached[-1] != found:
            reached.append(found)
    return reached


def _in_order(reached: list[str], expected: list[str]) -> bool:
    positions = [reached.index(name) for name in expected if name in reached]
    return len(positions) == len(expected) and positions == sorted(positions)


def _unlabelled(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.type !== 'hidden' && e.labels.length === 0).map(e => e.outerHTML)"
    )


def test_the_keyboard_reaches_every_field_in_order(chromium, served):
    url, tokens = served
    page = chromium.new_page(viewport=SCREEN)
    page.goto(f"{url}/web/sign-in")
    reached = _tab_order(page, 6)
    assert reached[0] == "Skip to the content"
    assert _in_order(reached, ["Skip to the content", "token", "Sign in"]), reached
    assert _unlabelled(page) == []
    page.locator("#token").focus()
    page.keyboard.type(tokens["alice"])
    page.keyboard.press("Enter")  # the form is sent from the keyboard
    page.wait_for_url(f"{url}/web/register")

    page.goto(f"{url}/web/upload")
    reached = _tab_order(page, 16)
    assert _in_order(reached, ["Register", "New assessment", "file", "as_of", "lang", "Assess"])
    assert _unlabelled(page) == []
    path = upload(page, url)
    page.goto(f"{url}{path}")
    reached = _tab_order(page, 40)
    expected = ["Memo (PDF)", "Result (JSON)", "action-accept", "outcome", "reason", "comments"]
    assert _in_order(reached, [*expected, "Record the decision"]), reached
    assert _unlabelled(page) == []
    page.goto(f"{url}/web/register")
    reached = _tab_order(page, 12)
    assert _in_order(reached, ["q", "recommendation", "stage", "Filter"]), reached
    assert _unlabelled(page) == []
