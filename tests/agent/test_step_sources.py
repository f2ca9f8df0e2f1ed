"""agent/steps.py step_payload: a SQL step keeps where each previewed row is on the sheet, as
plain JSON, from a real sql tool run; a step the tool could not trace keeps none."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from agent.steps import step_payload
from table_io import open_workbook
from tools.sql import SqlTool


def test_a_sql_step_keeps_the_sheet_rows_of_its_previewed_rows() -> None:
    frame = pd.DataFrame({"g": np.arange(60) % 3, "n": np.arange(60)})
    tool = SqlTool(open_workbook(frame))
    plain = step_payload(tool({"query": "SELECT n FROM data WHERE n >= 5"}))
    assert len(plain["preview"]) == 20 and plain["total_rows"] == 55
    assert plain["source_rows"] == [[n + 2] for n in range(5, 25)]  # the header is row 1
    assert plain["source_counts"] == [1] * 20
    assert plain["source_sheet"] == "data" and plain["source_columns"] == ["B"]
    grouped = step_payload(tool({"query": "SELECT g, max(n) FROM data WHERE n < 6 GROUP BY g "
                                          "ORDER BY g DESC"}))
    assert grouped["preview"] == [[2, 5], [1, 4], [0, 3]]
    assert grouped["source_rows"] == [[4, 7], [3, 6], [2, 5]]
    assert grouped["source_columns"] == ["A", "B"]
    assert json.loads(json.dumps(grouped)) == grouped  # JSON-safe, for the run log


def test_an_untraced_step_has_no_sheet_rows() -> None:
    tool = SqlTool(open_workbook(pd.DataFrame({"n": [1, 2, 2]})))
    payload = step_payload(tool({"query": "SELECT DISTINCT n FROM data ORDER BY n"}))
    assert payload["preview"] == [[1], [2]]
    assert not {"source_rows", "source_counts", "source_sheet", "source_columns"} & set(payload)
