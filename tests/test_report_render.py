"""The PDF memo renders: every page of the English and Chinese memos of two sample projects
rasterises with PDFium (pypdfium2) at 72 dpi to an A4-sized, non-blank image, the page count
matches pypdf's, and the Chinese title is drawn (dark pixels at the top of page one)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import AS_OF, ROOT
from reportlab import rl_config

from assessment.pipeline import score_applications
from assessment.reports.memo.write import write_reports
from assessment.reports.pdf.style import Look

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 comes with the test extras")
pypdf = pytest.importorskip("pypdf", reason="pypdf comes with the test extras")

SAMPLES = [
    ROOT / "sample_projects" / "05_zhangjiakou_reit_ready.xlsx",
    ROOT / "sample_projects" / "01_guizhou_guian_hyperscale.xlsx",
]
PROJECTS = ["DC-2025-005", "DC-2025-001"]
MODEL = "rules/model/default_model.skops"
LANGS = ["en", "zh"]
A4_PIXELS = (842, 595)  # height, width of A4 (595.28 x 841.89 pt) at scale 1 (72 dpi)
WHITE = 250  # grey level: below it a pixel is not white
DARK = 128  # grey level: below it a pixel is dark (text)
MIN_INK = 0.01  # non-white share of a page; the footer alone is about 0.005
TITLE_BAND = 120  # top rows of page one: the title, the project line, the recommendation
# Dark share of that band: about 0.021 with the Chinese drawn, about 0.0095 when every CJK
# character comes out as an empty box (the memo set in a font without CJK glyphs).
MIN_TITLE_DARK = 0.015


@pytest.fixture(scope="module")
def memos(tmp_path_factory):
    """lang -> project_id -> path of its memo, both projects scored in one run."""
    model = ROOT / MODEL
    scored = score_applications(SAMPLES, as_of=AS_OF, model=model)
    assert sorted(map(str, scored.frame.index)) == sorted(PROJECTS)
    folder = tmp_path_factory.mktemp("render")
    found = {}
    for lang in LANGS:
        paths = write_reports(scored, folder / lang, lang)
        found[lang] = {path.stem: path for path in paths}
    return found


def render(path) -> list[np.ndarray]:
    """Every page of ``path`` as a grey-level image (rows x columns, uint8) at 72 dpi."""
    document = pdfium.PdfDocument(path)
    try:
        images = []
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=1, grayscale=True)
            images.append(np.array(bitmap.to_numpy(), copy=True))  # the buffer dies with it
            bitmap.close()
            page.close()
        return images
    finally:
        document.close()


@pytest.fixture(scope="module")
def pages(memos):
    """(lang, project_id) -> the rendered pages of that memo."""
    return {
        (lang, project): render(path)
        for lang, paths in memos.items()
        for project, path in paths.items()
    }


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_renders_to_a_non_blank_a4_image(memos, pages, lang, project):
    images = pages[(lang, project)]
    assert len(images) == len(pypdf.PdfReader(memos[lang][project]).pages) >= 1
    for number, image in enumerate(images, start=1):
        height, width = image.shape[:2]
        assert abs(height - A4_PIXELS[0]) <= 1 and abs(width - A4_PIXELS[1]) <= 1, (
            f"page {number} is {width} x {height} px, not A4 at 72 dpi"
        )
        ink = float((image < WHITE).mean())
        assert ink >= MIN_INK, f"page {number} is blank: {ink:.2%} non-white pixels"


@pytest.mark.parametrize("project", PROJECTS)
def test_chinese_title_is_drawn_at_the_top_of_page_one(pages, project):
    band = pages[("zh", project)][0][:TITLE_BAND]
    dark = float((band < DARK).mean())
    assert dark >= MIN_TITLE_DARK, f"the title band of page one is {dark:.2%} dark pixels"


INVARIANT_DATE = "D:20000101000000+00'00'"  # reportlab's fixed date in invariant mode


def test_memos_are_invariant_by_their_document_not_by_reportlab_global_flag(
    memos, tmp_path, monkeypatch
):
    """The document asks for invariant mode itself (``invariant=1``): written again, the memo
    is byte-identical and carries the fixed date, while reportlab's global
    ``rl_config.invariant`` stays off, also while the memo is being built."""
    monkeypatch.setattr(rl_config, "invariant", 0)
    seen = []
    document = Look.document

    def watched(self, *args, **kwargs):
        seen.append(rl_config.invariant)
        return document(self, *args, **kwargs)

    monkeypatch.setattr(Look, "document", watched)
    scored = score_applications(SAMPLES[:1], as_of=AS_OF, model=ROOT / MODEL)
    (again,) = write_reports(scored, tmp_path, "en")
    assert seen == [0] and rl_config.invariant == 0
    assert again.read_bytes() == memos["en"][again.stem].read_bytes()
    metadata = pypdf.PdfReader(again).metadata
    assert metadata["/CreationDate"] == INVARIANT_DATE == metadata["/ModDate"]
