"""The app in a real browser: Debian's Chromium driven by Playwright against `tablepilot app`.

Uploads the example, asks a question, sees the answer and its steps, applies an edit, downloads
the file and checks it with openpyxl. Screenshots of each stage go to test-artifacts/app/.
The model is scripted (TABLEPILOT_APP_MODEL); everything else is real.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from app.state import EXAMPLE_WORKBOOK, EXAMPLES, MODEL_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "app"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-dev-shm-usage"]
QUESTION = "Which region sold the most in Q4?"
EDIT = "Add a Year column with each region's total"
SCRIPT = EXAMPLES / "scripted_demo.json"  # the model's turns for QUESTION, then EDIT

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
    env = {**os.environ, MODEL_ENV: f"scripted:{SCRIPT}", "PYTHONUNBUFFERED": "1"}
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


def test_upload_ask_apply_and_download_in_chromium(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # reading a workbook takes seconds on a busy 2-core box

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500},
                                    accept_downloads=True)
            page.set_default_timeout(20_000)
            page.goto(server)
            page.locator('input[type="file"]').set_input_files(str(EXAMPLE_WORKBOOK))
            expect(page.get_by_text("Workbook: sales_2025.xlsx · 2 sheet(s) · 2 table(s)")
                   ).to_be_visible()
            page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "1-uploaded.png"), full_page=True)
            expect(page.get_by_role("button", name="Deploy")).to_have_count(0)

            ask(page, QUESTION)
            steps = page.get_by_text("Steps (1)")
            expect(steps).to_be_visible()
            expect(page.get_by_text("North (text)")).to_be_visible()
            steps.click()
            expect(page.get_by_text("SELECT Region, Q4 FROM regions ORDER BY Q4 DESC")
                   ).to_be_visible()
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "2-answered.png"), full_page=True)

            ask(page, EDIT)
            expect(page.get_by_text("Proposed change")).to_be_visible()
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "3-proposed.png"), full_page=True)
            page.get_by_role("button", name="Apply").click()
            expect(page.get_by_text("Applied: now at version 1")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "4-applied.png"), full_page=True)

            with page.expect_download() as download:
                page.get_by_role("button", name="Download .xlsx").click()
            target = tmp_path / download.value.suggested_filename
            download.value.save_as(target)
        finally:
            browser.close()
    assert target.name == "sales_2025-v1.xlsx"
    sheet = openpyxl.load_workbook(target)["Regions"]
    assert sheet["H3"].value == "Year"
    assert [sheet[f"H{r}"].value for r in (4, 8)] == ["=SUM(C4:F4)", "=SUM(C8:F8)"]
    assert sheet["A9"].value == "Total"  # the rest of the workbook is as it was


def settle(page: Any) -> None:
    """Let tables draw (st.dataframe paints a canvas late) and expanders open, for screenshots."""
    page.locator('[data-testid="stDataFrame"] canvas').last.wait_for()
    page.wait_for_timeout(600)


def ask(page: Any, text: str) -> None:
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill(text)
    box.press("Enter")
