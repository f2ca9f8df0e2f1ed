"""The app in a real browser: Debian's Chromium driven by Playwright against `tablepilot app`.

What a person sees: the workbook opened; a question whose steps appear (and the chat box waits)
before its answer; a step's result rows that say where they are on the sheet, one of them
selected and its cells highlighted in the workbook's preview; an edit proposed in words and cell by cell, applied and downloaded (checked
with openpyxl); a second upload that asks before it closes the chat; a reload that keeps it.
The model is scripted (TABLEPILOT_APP_MODEL); everything else is real.

Screenshots of the main screens go to a temporary folder, or to docs/img/ (the pictures in
docs/app.md) with TABLEPILOT_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from app.state import EXAMPLE_WORKBOOK, MODEL_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
DOC_IMAGES = ROOT / "docs" / "img"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-dev-shm-usage"]
QUESTION = "Which region sold the most in Q4?"
EDIT = "Add a Year column with each region's total"
SQL = "SELECT Region, Q4 FROM regions ORDER BY Q4 DESC"
# The model's turns for QUESTION (a query, then a slow check, so the steps show before the
# answer), then for EDIT.
SCRIPT: list[Any] = [
    {"tool": "sql", "args": {"query": SQL}},
    {"tool": "python", "args": {"code": "import time\ntime.sleep(6)  # a slow step, for the test\n"
                                        "round(341900 / 1390300 * 100, 1)  # North's share, %"}},
    {"tool": "final_answer", "args": {"answer": "North", "explanation": "North sold 341,900."}},
    {"tool": "sheet", "args": {"actions": [
        {"action": "write", "sheet": "Regions", "range": "H3", "values": "Year"},
        {"action": "formula", "sheet": "Regions", "range": "H4:H8", "formula": "=SUM(C4:F4)"},
    ]}},
    {"tool": "final_answer", "args": {"answer": "Proposed a Year column in H3:H8"}},
]

if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`tablepilot app` on a free port of 127.0.0.1 with the scripted model; always stopped."""
    port = free_port()
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    env = {**os.environ, MODEL_ENV: f"scripted:{script}", "PYTHONUNBUFFERED": "1"}
    env.pop("TABLEPILOT_BASE_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "app", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app exited ({proc.returncode}): "
                            f"{(tmp_path / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the app did not answer /_stcore/health within 30 s")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


# The height of the page's content: of the element that scrolls the most, else the document's.
SCROLL_HEIGHT = """() => {
  let tallest = document.documentElement.scrollHeight;
  for (const e of document.querySelectorAll('*')) {
    const style = getComputedStyle(e).overflowY;
    if ((style === 'auto' || style === 'scroll') && e.scrollHeight > e.clientHeight) {
      tallest = Math.max(tallest, e.scrollHeight + (window.innerHeight - e.clientHeight));
    }
  }
  return tallest;
}"""


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Any, str], None]:
    """Save a screenshot of the page: into docs/img/ with TABLEPILOT_SCREENSHOTS=1, else tmp."""
    folder = DOC_IMAGES if os.environ.get("TABLEPILOT_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page: Any, name: str) -> None:
        # Streamlit scrolls its main column, not the page: a window as tall as that column shows
        # all of it (then the window is as it was)
        tall = page.evaluate(SCROLL_HEIGHT)
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"], "height": min(max(tall, 900), 4000)})
        page.wait_for_timeout(700)
        page.screenshot(path=str(folder / f"{name}.png"))
        page.set_viewport_size(size)

    return shot


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    """A Chromium page on the app (1400 px wide), with the example uploaded."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # reading a workbook takes seconds on a busy 2-core box
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1100},
                                   accept_downloads=True)
            tab.set_default_timeout(20_000)
            tab.goto(server)
            tab.locator('input[type="file"]').first.set_input_files(str(EXAMPLE_WORKBOOK))
            expect(tab.get_by_text("Workbook: sales_2025.xlsx · 2 sheet(s) · 2 table(s)")
                   ).to_be_visible()
            tab.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
            yield tab
        finally:
            browser.close()


def test_a_question_shows_its_steps_before_the_answer_then_an_edit_is_applied(
        page: Any, shots: Callable[[Any, str], None], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    shots(page, "1-workbook")

    box = chat_box(page)
    ask(page, QUESTION)
    # while the model works: the first step and its SQL are there, the answer is not yet,
    # and the chat box takes no second question
    status = page.locator('[data-testid="stExpander"]').filter(has_text="Working on it")
    expect(status.get_by_text("sql done")).to_be_visible()
    expect(status.get_by_text(SQL)).to_be_visible()
    expect(box).to_be_disabled()
    expect(page.get_by_text("North (text)")).to_have_count(0)
    shots(page, "2-running")

    expect(page.get_by_text("North (text)")).to_be_visible(timeout=60_000)
    expect(box).to_be_enabled()
    expect(page.get_by_text("Regions!F4")).to_be_visible()  # the cell the answer came from
    page.get_by_text("Steps (2)").click()
    expect(page.get_by_text(SQL).first).to_be_visible()
    expect(page.get_by_role("button", name="Add this chart to the workbook")).to_be_visible()
    settle(page)
    shots(page, "3-answered")

    ask(page, EDIT)
    panel = page.locator(".st-key-proposed-change")
    expect(panel.get_by_text("Proposed change")).to_be_visible(timeout=60_000)
    bubble = page.locator('[data-testid="stChatMessage"]').filter(has_text="Proposed an edit")
    said = [t.strip() for t in bubble.locator("li").all_inner_texts()]
    assert said and said == [t.strip() for t in panel.locator("li").all_inner_texts()]
    assert any("H3" in line or "Year" in line for line in said), said
    assert any("H4:H8" in line or "H8" in line for line in said), said
    panel.get_by_text("Actions (2)").click()  # the preview is of the same two actions
    expect(panel.get_by_text('"range": "H4:H8"')).to_be_visible()
    settle(page)
    shots(page, "4-proposed")

    panel.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Applied: now at version 1")).to_be_visible()
    expect(bubble.get_by_text("This edit was applied as version 1.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download .xlsx").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name == "sales_2025-v1.xlsx"
    sheet = openpyxl.load_workbook(target)["Regions"]
    assert sheet["H3"].value == "Year"
    assert [sheet[f"H{r}"].value for r in (4, 8)] == ["=SUM(C4:F4)", "=SUM(C8:F8)"]
    assert sheet["A9"].value == "Total"  # the rest of the workbook is as it was


def test_a_second_upload_asks_first_and_a_reload_keeps_the_chat(
        page: Any, shots: Callable[[Any, str], None], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    ask(page, QUESTION)
    expect(page.get_by_text("North (text)")).to_be_visible(timeout=60_000)
    assert "s=" in page.url  # the state's token: a reload finds it again

    page.reload()
    expect(page.get_by_text("North (text)")).to_have_count(1)
    expect(page.get_by_text("Workbook: sales_2025.xlsx")).to_be_visible()

    cities = tmp_path / "cities.csv"
    cities.write_text("city,people\nOslo,709000\nLima,10000000\n")
    page.locator('input[type="file"]').first.set_input_files(str(cities))
    question = page.get_by_text("Open cities.csv? The current chat will be closed")
    expect(question).to_be_visible()
    expect(page.get_by_text("Workbook: sales_2025.xlsx")).to_be_visible()  # nothing closed yet
    page.wait_for_timeout(800)  # the chart draws
    shots(page, "5-upload-asks")

    page.locator(".st-key-keep_current button").click()
    expect(question).to_have_count(0)
    expect(page.get_by_text("North (text)")).to_have_count(1)

    towns = tmp_path / "towns.csv"
    towns.write_text("town,people\nBergen,291000\nCusco,428000\n")
    page.locator('input[type="file"]').first.set_input_files(str(towns))  # asks; now: Open
    expect(page.get_by_text("Open towns.csv? The current chat will be closed")).to_be_visible()
    page.locator(".st-key-confirm_open button").click()
    expect(page.get_by_text("Workbook: towns.csv")).to_be_visible()
    expect(page.get_by_text("North (text)")).to_have_count(0)
    back = page.get_by_role("button", name="sales_2025.xlsx · 1 question(s)")
    expect(back).to_be_visible()
    back.click()
    expect(page.get_by_text("North (text)")).to_have_count(1)


def test_a_step_row_says_where_it_is_on_the_sheet_and_selecting_it_highlights_its_cells(
        page: Any, shots: Callable[[Any, str], None], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    ask(page, QUESTION)
    expect(page.get_by_text("North (text)")).to_be_visible(timeout=60_000)
    page.get_by_text("Steps (2)").click()
    steps = page.locator('[data-testid="stExpander"]').filter(has_text="Steps (2)")
    result = steps.locator('[data-testid="stDataFrame"]').first
    result.locator("canvas").first.wait_for()
    # the grid is a canvas; its accessible table holds the same cells
    expect(result.locator('[role="columnheader"]').filter(has_text="Sheet rows")).to_have_count(1)
    west = result.locator('tr[role="row"]').filter(has_text="West")
    expect(west.locator('[role="gridcell"]').last).to_have_text("Regions!7")

    select_row(page, result, 1)  # West, the second row of the result
    expect(west).to_have_attribute("aria-selected", "true")
    panel = page.locator('[data-testid="stExpander"]').filter(has_text="Workbook: sales_2025.xlsx")
    panel.get_by_text("Workbook: sales_2025.xlsx").click()
    expect(panel.get_by_text("Highlighted: the cells of row 2 of step 1's result (Regions!7)")
           ).to_be_visible()
    preview = panel.locator('[data-testid="stDataFrame"] >> visible=true').nth(1)
    assert highlighted_rows(preview, tmp_path) == [3]  # sheet row 7 is the fourth data row
    settle(page)
    shots(page, "6-row-cells")

    result.hover()  # the table's toolbar: cleared, the answer's cells are highlighted again
    result.get_by_role("button", name="Clear selection").click()
    expect(west).to_have_attribute("aria-selected", "false")
    expect(panel.get_by_text("Highlighted: the cells of row 2")).to_have_count(0)
    assert highlighted_rows(preview, tmp_path) == [0, 1, 2, 3, 4]  # the query read every row


GRID_ROW_PX = 35  # st.dataframe's row height (and the header's), in CSS pixels


def select_row(page: Any, table: Any, row: int) -> None:
    """Click the row's selection box (the grid's first, narrow column)."""
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + GRID_ROW_PX * (row + 1.5))


def highlighted_rows(table: Any, tmp_path: Path) -> list[int]:
    """The data rows of a table that show the highlight colour, read off a screenshot of it
    (the grid draws on a canvas)."""
    from PIL import Image

    from app.views.data import HIGHLIGHT_CSS

    wanted = HIGHLIGHT_CSS.split("#")[1][:6]
    colour = tuple(int(wanted[i:i + 2], 16) for i in (0, 2, 4))
    table.locator("canvas").first.wait_for()
    table.page.wait_for_timeout(800)  # the canvas repaints after a rerun
    path = tmp_path / "table.png"
    table.screenshot(path=str(path))
    image = Image.open(path).convert("RGB")
    width, height = image.size

    def coloured(x: int, y: int) -> bool:
        pixel = image.getpixel((x, y))
        return isinstance(pixel, tuple) and all(
            abs(int(a) - b) <= 16 for a, b in zip(pixel, colour, strict=True))

    rows = []
    for row in range(height // GRID_ROW_PX - 1):
        top = GRID_ROW_PX * (row + 1)
        if any(coloured(x, y) for y in range(top + 6, top + GRID_ROW_PX - 6, 4)
               for x in range(0, width, 3)):
            rows.append(row)
    return rows


def chat_box(page: Any) -> Any:
    return page.locator('[data-testid="stChatInputTextArea"]')


def settle(page: Any) -> None:
    """Let tables draw (st.dataframe paints a canvas late) and expanders open, for screenshots."""
    page.locator('[data-testid="stDataFrame"] canvas >> visible=true').last.wait_for()
    page.wait_for_timeout(800)


def ask(page: Any, text: str) -> None:
    box = chat_box(page)
    box.fill(text)
    box.press("Enter")
