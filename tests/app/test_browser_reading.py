"""Reading decisions corrected in a real browser: a column of ambiguous dates read month first.

Reuses test_browser's server (`tablepilot app` with a scripted model) and Chromium settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS, server, shots

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["server", "shots"]  # the fixtures, imported for pytest to find

ORDERS = ("Shipped,Zip,Qty\n"
          "03.04.2024,02134,5\n"
          "05.06.2024,00501,7\n"
          "11.12.2024,10001,2\n")


@pytest.fixture
def orders_page(server: str, tmp_path: Path) -> Iterator[Any]:
    """A Chromium page on the app with orders.csv uploaded."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1100})
            tab.set_default_timeout(20_000)
            tab.goto(server)
            tab.locator('input[type="file"]').first.set_input_files(str(path))
            expect(tab.get_by_text("Workbook: orders.csv")).to_be_visible()
            tab.locator('[data-testid="stDataFrame"] canvas').first.wait_for()  # drawn: done
            tab.wait_for_timeout(800)
            yield tab
        finally:
            browser.close()


def pick(page: Any, label: str, option: str) -> None:
    """Choose ``option`` in the open popover's select box called ``label``."""
    page.locator('[data-testid="stPopoverBody"]').get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_column_of_ambiguous_dates_is_read_month_first(orders_page: Any,
                                                        shots: Callable[[Any, str], None]) -> None:
    from playwright.sync_api import expect

    page = orders_page
    # the reading notes are in the page (in their expander, open or not)
    expect(page.get_by_text("ambiguous: dates like 03.04.2024 fit both day first and month first")
           ).to_have_count(1)

    page.get_by_role("button", name="Column types").click()
    popover = page.locator('[data-testid="stPopoverBody"]')
    expect(popover.get_by_text("Read now as: date: dates written as text, day first")).to_be_visible()
    pick(page, "Read it as", "date (month first)")
    shots(page, "7-column-types")
    popover.get_by_role("button", name="Re-read the column").click()

    expect(page.get_by_text("Table orders re-read: Shipped as date (month first)")).to_be_visible()
    expect(page.get_by_text("Shipped: read as date (month first), as set by hand")).to_have_count(1)
    expect(page.get_by_text("ambiguous: dates like")).to_have_count(0)
