"""Class 4 of issue #12 (SQL part): hostile queries are refused or stopped within the limits.

Each group of queries runs in a child process with an address-space cap and a wall-clock
timeout, through the real sql tool over a real DuckDB catalog. Every hostile query must be
refused with a message or stopped (timeout, out of memory, value limit) in about the query
timeout; the process must stay under the memory cap; the catalog must answer the next query;
nothing of the host (files, environment, settings) may appear in any answer.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.base import ToolFailure
from tools.sql.guard import Catalog, guard

TIMEOUT_S = 2.0
# DuckDB reserves much more address space than it touches: the cap only keeps a runaway query
# from taking the machine down; what it really used is checked against PEAK_RSS
ADDRESS_SPACE = 8 * 1024**3
PEAK_RSS = int(2.5 * 1024**3)  # catalog memory_limit 1 GB + Arrow results + Python
ENV_CANARY = "ENVCANARY-51d2"

_RUNNER = r"""
import json, os, resource, sys, time
import pandas as pd
from table_io import open_workbook
from tools.sql import SqlTool

frame = pd.DataFrame({"name": [f"n{i}" for i in range(200)], "qty": list(range(199)) + [2_000_000_000],
                      "note": ["x" * 50] * 200})
tool = SqlTool(open_workbook(frame, name="sales.csv"), timeout_s=float(sys.argv[2]))
table = tool.workbook.tables[0].name
out = []
for query in json.loads(sys.argv[1]):
    query = query.replace("{t}", table)
    started = time.monotonic()
    result = tool({"query": query})
    seconds = time.monotonic() - started
    after = tool({"query": f"SELECT count(*) AS n FROM {table}"})
    out.append({"query": query, "ok": result.ok, "seconds": seconds,
                "kind": result.error.kind if result.error else None,
                "text": result.observation[:2000], "usable": after.ok and "200" in after.observation})
locked = []
for statement in ("SET memory_limit='64GB'", "SET enable_external_access=true", "SET threads=64",
                  "SET lock_configuration=false", "SET max_temp_directory_size='1TB'"):
    try:
        tool.connection.execute(statement)
    except Exception as exc:
        locked.append(type(exc).__name__)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("\n@@REPORT@@" + json.dumps({"results": out, "locked": locked, "peak": peak}))
"""


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_queries(queries: list[str]) -> dict:
    env = {"PATH": "/usr/bin:/bin", ENV_CANARY: ENV_CANARY, "HOME": "/nonexistent-home"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(queries), str(TIMEOUT_S)],
                          capture_output=True, text=True, preexec_fn=_limit_child, env=env,
                          timeout=60 + len(queries) * (TIMEOUT_S + 4))
    assert done.returncode == 0, f"the child died (rc {done.returncode}): {done.stderr[-3000:]}"
    return json.loads(done.stdout.rsplit("@@REPORT@@", 1)[-1])


def assert_contained(report: dict, *, may_succeed: bool = False) -> None:
    assert report["peak"] < PEAK_RSS, report["peak"]
    assert len(report["locked"]) == 5, report["locked"]  # every SET fails: configuration locked
    for r in report["results"]:
        label = r["query"][:120]
        assert r["usable"], f"catalog unusable after {label}"
        assert r["seconds"] < TIMEOUT_S + 4, (label, r["seconds"])
        if not may_succeed:
            assert not r["ok"], f"not refused: {label}: {r['text'][:300]}"
            assert r["kind"] in ("query", "limit"), (label, r["kind"])
            assert r["text"].strip(), label
        for leaked in ("root:x:0:0", ENV_CANARY, "/nonexistent-home", "/usr/bin:/bin"):
            assert leaked not in r["text"], (label, leaked)


GENERATORS = [
    "SELECT len(range(400000000))",
    "SELECT len(range(0, 400000000, 1))",
    "SELECT len(generate_series(1, 400000000))",
    "SELECT count(*) FROM (SELECT unnest(range(1000000000)))",
    "SELECT len(range(CAST('400000000' AS BIGINT)))",
    "SELECT len(range(power(10, 9)::BIGINT))",
    "SELECT len(range(qty)) FROM {t}",
    "SELECT len(range(1, qty, 1)) FROM {t}",
    "SELECT length(repeat('x', 2000000000))",
    "SELECT length(repeat('x', 200000 * 10000))",
    "SELECT length(repeat(repeat('x', 100000), 100000))",
    "SELECT length(repeat('x', qty)) FROM {t}",
    "SELECT length(repeat(note, qty)) FROM {t}",
    "SELECT len(repeat([1, 2, 3], 400000000))",
    "SELECT length(lpad('x', 2000000000, 'y'))",
    "SELECT length(rpad('x', 900000000, 'y'))",
    "SELECT length(lpad(name, qty, '0')) FROM {t}",
    "SELECT len(list_resize([1], 400000000))",
    "SELECT len(array_resize([1], 400000000, 0))",
    "SELECT len(list_resize([1], qty)) FROM {t}",
    "SELECT length(printf('%2000000000d', 1))",
    "SELECT length(printf('%.2000000000f', 1.5))",
    "SELECT length(printf('%*d', 2000000000, 1))",
    "SELECT length(format('{:>2000000000}', 'x'))",
    "SELECT length(printf(name, 1)) FROM {t}",
    "SELECT length(replace(replace(replace(repeat('a',1000),'a',repeat('b',1000)),'b',repeat('c',1000)),'c','dd'))",
    "SELECT length(regexp_replace(repeat('a',100000),'a',repeat('b',10000),'g'))",
    "SELECT length(regexp_replace(repeat('a', 5000000), '(a)', '\\1\\1\\1', 'g'))",
    # lambdas and comprehensions multiply their body by the list's length, out of reach of the
    # memory limit and the interrupt
    "SELECT len(flatten(list_transform(range(999999), x -> range(999999))))",
    "SELECT len([repeat('x', 999999) for x in range(999999)])",
    "SELECT length(list_aggr(list_transform(range(999999), x -> repeat('x', 999999)), 'string_agg', ''))",
    "SELECT list_reduce(range(40), (acc, x) -> acc || acc, 'x')",
    "SELECT map_from_entries(list_transform(range(999999), x -> {'k': x, 'v': repeat('v', 999999)}))::VARCHAR",
    "SELECT len(list_filter(range(999999), x -> len(range(x)) > 0))",
    "SELECT len(apply(range(999999), x -> repeat('y', 999999)))",
]

BLOWUPS = [
    "SELECT count(*) FROM {t} a, {t} b, {t} c, {t} d, {t} e",
    "SELECT length(string_agg(a.note, '')) FROM {t} a, {t} b, {t} c, {t} d",
    "SELECT max(a.qty + b.qty + e.qty) FROM {t} a CROSS JOIN {t} b CROSS JOIN {t} c CROSS JOIN {t} d "
    "CROSS JOIN {t} e CROSS JOIN {t} f",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "WITH RECURSIVE r(s, n) AS (SELECT 'x', 0 UNION ALL SELECT s || s, n + 1 FROM r WHERE n < 40) "
    "SELECT max(length(s)) FROM r",
    "WITH a AS (SELECT repeat('x', 9000000) s), b AS (SELECT s || s s FROM a), "
    "c AS (SELECT s || s s FROM b), d AS (SELECT s || s s FROM c), e AS (SELECT s || s s FROM d), "
    "f AS (SELECT s || s s FROM e), g AS (SELECT s || s s FROM f), h AS (SELECT s || s s FROM g) "
    "SELECT length(s) FROM h",
    "WITH a AS (SELECT repeat('x', 9000000) s) SELECT length(repeat(s, 1000)) FROM a",
    "WITH RECURSIVE r(l) AS (SELECT [1] UNION ALL SELECT list_concat(l, l) FROM r WHERE len(l) < 1e10) "
    "SELECT max(len(l)) FROM r",
    "SELECT list_sort(list(a.qty)) FROM {t} a, {t} b, {t} c, {t} d",
]

HOST = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM \"/etc/passwd\"",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('{t}')",
    "ATTACH '/tmp/x.db' AS x",
    "COPY {t} TO '/tmp/out.csv'",
    "COPY (SELECT 1) TO '/tmp/out.csv'",
    "EXPORT DATABASE '/tmp/dump'",
    "SET memory_limit='100GB'",
    "SET file_search_path='/etc'",
    "RESET lock_configuration",
    "PRAGMA threads=64",
    "PRAGMA database_list",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "SELECT getenv('HOME')",
    "SELECT getenv('" + ENV_CANARY + "')",
    "SELECT current_setting('memory_limit')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM pragma_table_info('{t}')",
    "SELECT 1; DROP TABLE {t}",
    "SELECT 1; SELECT * FROM read_csv('/etc/passwd')",
    "SELECT 1 -- hidden\n; ATTACH '/tmp/y.db' AS y",
    "SELECT 1 /* ; */ ; INSTALL httpfs",
    "/* SELECT */ DELETE FROM {t}",
    "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
    "SELECT (SELECT content FROM read_text('/etc/passwd'))",
    "SELECT * FROM {t} WHERE name IN (SELECT column0 FROM read_csv('/etc/passwd'))",
    "CREATE TABLE y AS SELECT 1",
    "INSERT INTO {t} SELECT * FROM {t}",
    "UPDATE {t} SET qty = 0",
    "SELECT * FROM {t} UNION ALL SELECT * FROM read_parquet('/tmp/*.parquet')",
    "SELECT load_extension('x')",
    "DESCRIBE {t}",
    "SUMMARIZE {t}",
    "SELECT * FROM main.sqlite_master",
    "SELECT * FROM system.main.duckdb_tables()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM x.{t}",
]

# large but within the per-value limit: answered (rows and bytes kept are capped) or stopped
BIG_RESULTS = [
    "SELECT repeat(note, 19000) AS big FROM {t}",
    "SELECT a.note || repeat(b.note, 19000) FROM {t} a, {t} b",
    "SELECT repeat(note, 100000) AS big FROM {t}",
]

LEGIT = [
    "SELECT repeat('-', 20) AS rule",
    "SELECT lpad(name, 8, '0') FROM {t} LIMIT 3",
    "SELECT unnest(range(10)) AS i",
    "SELECT printf('%08.2f', qty::DOUBLE) FROM {t} LIMIT 2",
    "SELECT regexp_matches(repeat('a', 20000) || 'b', '(a+)+$')",
    "SELECT replace(name, 'n', 'number ') FROM {t} LIMIT 3",
    "SELECT name || ': ' || note FROM {t} LIMIT 3",
    "SELECT count(*) FROM {t} a, {t} b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) SELECT sum(n) FROM r",
]


@pytest.mark.parametrize("group", ["generators", "blowups", "host"])
def test_hostile_queries_are_refused_or_stopped(group: str) -> None:
    queries = {"generators": GENERATORS, "blowups": BLOWUPS, "host": HOST}[group]
    assert_contained(run_queries(queries))


def test_big_results_are_bounded() -> None:
    report = run_queries(BIG_RESULTS)
    assert_contained(report, may_succeed=True)
    assert not report["results"][-1]["ok"]  # 5 M characters a value: over the value limit


def test_ordinary_queries_still_run_in_the_same_child() -> None:
    report = run_queries(LEGIT)
    assert_contained(report, may_succeed=True)
    failed = [r["query"] for r in report["results"] if not r["ok"]]
    assert not failed, failed


def test_refusals_say_which_limit() -> None:
    catalog = Catalog({"t": ["qty", "name"]})
    with pytest.raises(ToolFailure) as caught:
        guard("SELECT repeat('x', 2000000000)", catalog)
    assert "TABLEPILOT_SQL_MAX_VALUE_SIZE" in str(caught.value.error.message)
    clamped = guard("SELECT repeat(name, qty) FROM t", catalog).sql
    assert "ERROR(" in clamped and "CASE WHEN" in clamped


_AMPLIFIERS = st.sampled_from([
    "repeat('ab', {n})", "lpad('x', {n}, 'y')", "rpad('x', {n})", "range({n})", "range(0, {n})",
    "generate_series(1, {n})", "list_resize([1], {n})", "array_resize([0], {n})",
    "printf('%{n}d', 1)", "format('{{:>{n}}}', 'x')", "repeat([1], {n})",
])
_SPELL = st.sampled_from(["{n}", "({n})", "{n}::BIGINT", "CAST({n} AS INTEGER)", "{half} * 2",
                          "{half} + {half}", "-(-{n})"])


@settings(max_examples=80, deadline=None)
@given(template=_AMPLIFIERS, spelling=_SPELL, n=st.integers(2_000_001, 2**40))
def test_generated_oversized_calls_are_refused_by_the_guard(template: str, spelling: str, n: int) -> None:
    count = spelling.format(n=n, half=n // 2 + 1)
    query = "SELECT " + template.format(n=count) if "printf" not in template and "format" not in template \
        else "SELECT " + template.format(n=n)
    with pytest.raises(ToolFailure):
        guard(query, Catalog({"t": ["qty"]}))


_BIG_CSV = r"""
import sys
from pathlib import Path
from table_io import Limits, TableIOError, open_workbook
from tools.sql import SqlTool
path = Path(sys.argv[1])
with path.open("w") as fh:
    fh.write(",".join(f"c{i}" for i in range(400)) + "\n")
    row = ",".join("x" * 20 for _ in range(400)) + "\n"
    fh.writelines(row for _ in range(3000))
workbook = open_workbook(path, limits=Limits(direct_load_bytes=1024 * 1024))  # DuckDB reads it
try:
    SqlTool(workbook)
except TableIOError as exc:
    print("refused:", exc)
"""


def test_a_directly_loaded_file_over_the_sql_memory_limit_is_a_clean_error(tmp_path) -> None:
    import os

    env = {**os.environ, "TABLEPILOT_SQL_MEMORY_LIMIT": "16MB"}
    done = subprocess.run([sys.executable, "-c", _BIG_CSV, str(tmp_path / "wide.csv")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: wide.csv: table 'wide' does not fit the SQL engine's memory limit" in done.stdout
