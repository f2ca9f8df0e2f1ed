"""A workbook as plain data: what ``tablepilot inspect --json`` prints, the toolkit's
``inspect`` tool returns and the MCP server's ``open_workbook`` answers."""

from __future__ import annotations

from typing import Any

from table_io.model import Workbook


def describe(workbook: Workbook, head: int = 0) -> dict[str, Any]:
    """Its sheets and tables: ranges, header rows, columns with types, totals, notes, hidden
    rows and columns; with ``head``, the first rows of each table."""
    tables = {t.name: t for t in workbook.tables}
    sheets = []
    for sheet in workbook.sheets:
        items = []
        for name in sheet.table_names:
            t = tables[name]
            types = t.meta.get("column_types") or {c: str(t.frame[c].dtype) for c in t.columns}
            written = t.meta.get("parsed_from_text", {})
            item: dict[str, Any] = {
                "name": t.name, "range": t.range, "header_rows": t.header_rows, "rows": t.n_rows,
                "columns": [
                    {"name": c, "type": types.get(c, "text"), **({"from_text": written[c]} if c in written else {})}
                    for c in t.columns
                ],
                "title": t.title, "notes": t.notes, "total_rows": t.total_row_numbers,
                "hidden_rows": t.hidden_rows, "row_levels": t.row_levels,
            }
            for extra in ("dropped_rows", "key_values"):  # rows left out, sheet metadata kept
                if t.meta.get(extra):
                    item[extra] = t.meta[extra]
            if t.duckdb_source is not None:
                item["loaded_by"] = "duckdb"
            if head:
                item["head"] = [[plain_value(v) for v in row] for row in t.frame.head(head).itertuples(index=False)]
            items.append(item)
        sheets.append({
            "name": sheet.name, "hidden": sheet.hidden, "rows": sheet.n_rows, "columns": sheet.n_cols,
            "hidden_rows": sheet.hidden_rows, "hidden_columns": sheet.hidden_columns,
            "merged_ranges": sheet.merged_ranges, "tables": items,
        })
    return {"source": workbook.source, "format": workbook.format, "warnings": workbook.warnings, "sheets": sheets}


def plain_value(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
    if hasattr(value, "item"):
        return value.item()
    return value
