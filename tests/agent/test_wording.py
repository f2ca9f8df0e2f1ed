"""A bare answer in a sentence (agent/wording.py): real SQL worded faithfully or not at all,
real DuckDB results through the sql tool, and the loop adding the sentence only when the model
said nothing beyond the value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call
from agent.rules.base import Seen
from agent.runlog import answer_text
from agent.steps import result_value
from agent.wording import answer_sentence, describe_query, restates
from table_io.model import Sheet, Table, Workbook
from tools.payloads import sql_payload
from tools.sql import SqlTool

# (sql as the sql tool runs it, the value, its select column, rows in the result, the sentence)
WORDED: list[tuple[str, Any, int, int, str]] = [
    ("SELECT COUNT(*) FROM orders WHERE country = 'Spain' AND year = 2023", 42, 0, 1,
     "Counted 42 rows of orders where country is Spain and year is 2023."),
    ("SELECT COUNT(*) FROM orders", 1, 0, 1, "Counted 1 row of orders."),
    ("SELECT COUNT(*) AS n FROM orders WHERE amount > 100", 12345, 0, 1,
     "Counted 12,345 rows of orders where amount is greater than 100."),
    ("SELECT COUNT(DISTINCT region) FROM orders WHERE NOT region IS NULL", 4, 0, 1,
     "Counted 4 distinct values of region in orders where region is not empty."),
    ("SELECT COUNT(email) FROM customers WHERE email LIKE '%@example.com'", 3, 0, 1,
     "Counted 3 non-empty values of email in customers where email ends with @example.com."),
    ("SELECT SUM(amount) AS total FROM orders WHERE region = 'West'", 1234.5, 0, 1,
     "The total of amount in orders where region is West is 1,234.5."),
    ("SELECT AVG(salary) FROM employees WHERE dept IN ('Sales', 'HR', 'IT')", 50000, 0, 1,
     "The average of salary in employees where dept is one of Sales, HR or IT is 50,000."),
    ("SELECT ROUND(AVG(salary), 2) FROM employees", 50123.46, 0, 1,
     "The average of salary in employees is 50,123.46 (rounded to 2 decimal places)."),
    ("SELECT ROUND(SUM(amount)) FROM orders", 1235, 0, 1,
     "The total of amount in orders is 1,235 (rounded to a whole number)."),
    ("SELECT MEDIAN(price) FROM products WHERE NOT category IN ('a', 'b')", 9.5, 0, 1,
     "The median of price in products where category is not one of a or b is 9.5."),
    ("SELECT MAX(salary) FROM employees WHERE name ILIKE '%ha%'", 95000, 0, 1,
     "The highest salary in employees where name contains ha (ignoring case) is 95000."),
    ("SELECT MIN(year) FROM films WHERE title LIKE 'The %'", 1931, 0, 1,
     "The lowest year in films where title starts with 'The ' is 1931."),
    ("SELECT MIN(hired) FROM employees WHERE hired >= CAST('2020-01-01' AS DATE)", "2020-03-01",
     0, 1, "The earliest hired in employees where hired is on or after 2020-01-01 is 2020-03-01."),
    ("SELECT MAX(name) FROM employees", "Zoe", 0, 1,
     "The alphabetically last name in employees is Zoe."),
    ("SELECT name FROM employees ORDER BY salary DESC LIMIT 1", "Farid Haddad", 0, 1,
     "Farid Haddad has the highest salary in employees."),
    ("SELECT name, salary FROM employees WHERE dept = 'IT' ORDER BY salary ASC LIMIT 1", 30000,
     1, 1, "The lowest salary in employees where dept is IT is 30000."),
    ("SELECT e.name AS who FROM employees AS e ORDER BY e.age DESC, e.name LIMIT 3", "Ann", 0, 3,
     "Ann has the highest age in employees."),
    ("SELECT region, SUM(amount) AS total FROM orders GROUP BY region ORDER BY total DESC "
     "LIMIT 1", "West", 0, 1, "West is the region with the highest total of amount in orders."),
    ("SELECT region, SUM(amount) AS total FROM orders GROUP BY region ORDER BY total DESC "
     "LIMIT 1", 999.5, 1, 1, "The highest total of amount for one region in orders is 999.5."),
    ("SELECT Product, COUNT(*) FROM sales WHERE Year = 2023 GROUP BY Product ORDER BY 2 DESC "
     "LIMIT 1", "Tea", 0, 1, "Tea is the Product with the most rows in sales where Year is 2023."),
    ("SELECT Product FROM sales GROUP BY Product ORDER BY COUNT(*) ASC LIMIT 1", "Cocoa", 0, 1,
     "Cocoa is the Product with the fewest rows in sales."),
    ('SELECT "Revenue Q1" FROM sales WHERE City = \'Oslo\' AND year BETWEEN 2019 AND 2020', 10.5,
     0, 1, "The only row of sales where City is Oslo and year is between 2019 and 2020 has "
           "Revenue Q1 10.5."),
    ("SELECT COUNT(*) FROM c WHERE YEAR(d) > 2020 AND LOWER(city) = 'oslo' AND q <> -5 "
     "AND active AND NOT closed", 3, 0, 1,
     "Counted 3 rows of c where the year of d is greater than 2020, city is oslo (ignoring "
     "case), q is not -5, active is true and closed is false."),
    ("SELECT COUNT(*) FROM c WHERE (region = 'North' OR region = 'South') AND (a = 1 OR b < 2)",
     7, 0, 1, "Counted 7 rows of c where region is North or South and (a is 1 or b is less "
              "than 2)."),
    ("SELECT COUNT(*) FROM c WHERE d < '2024-01-01' OR d IS NULL", 2, 0, 1,
     "Counted 2 rows of c where d is before 2024-01-01 or d is empty."),
    ("SELECT COUNT(*) FROM c WHERE code NOT LIKE 'A_%' AND x = TRUE", 2, 0, 1,
     "Counted 2 rows of c where code does not match the pattern A_% and x is true."),
    # what the date_as_text repair and small models write: a column read as text or a number
    ("SELECT COUNT(*) FROM c WHERE CAST(d AS TEXT) LIKE '2024-03%'", 5, 0, 1,
     "Counted 5 rows of c where d starts with 2024-03."),
    ("SELECT SUM(TRY_CAST(pts AS DOUBLE)) FROM t WHERE LOWER(team) = LOWER('Oslo FC')", 30, 0,
     1, "The total of pts in t where team is oslo fc (ignoring case) is 30."),
    ("SELECT COUNT(*) FROM t WHERE team = LOWER('Oslo')", 0, 0, 1,
     "Counted 0 rows of t where team is oslo."),  # the column itself is compared as is
]

# Queries that must give no sentence: a loose one would be worse than none.
UNSAID: list[tuple[str, Any, int, int]] = [
    ("SELECT name FROM t LIMIT 1", "x", 0, 1),  # an arbitrary row
    ("SELECT name FROM t WHERE dept = 'IT'", "x", 0, 4),  # one of several, no order
    ("SELECT t.name FROM t JOIN u ON t.id = u.id WHERE u.x = 1", "x", 0, 1),
    ("SELECT name FROM t WHERE x = (SELECT MAX(x) FROM t)", "x", 0, 1),
    ("SELECT COUNT(*) FROM t WHERE id IN (SELECT id FROM u)", 3, 0, 1),
    ("WITH c AS (SELECT * FROM t) SELECT COUNT(*) FROM c", 3, 0, 1),
    ("SELECT COUNT(*) FROM (SELECT DISTINCT a FROM t) AS s", 3, 0, 1),
    ("SELECT name FROM t ORDER BY salary DESC NULLS FIRST LIMIT 1", "x", 0, 1),
    ("SELECT name FROM t ORDER BY salary DESC LIMIT 1 OFFSET 1", "x", 0, 1),  # second highest
    ("SELECT name FROM t ORDER BY salary + bonus DESC LIMIT 1", "x", 0, 1),
    ("SELECT MAX(x) OVER () FROM t", 3, 0, 1),
    ("SELECT SUM(a * b) FROM t", 3, 0, 1),
    ("SELECT ROUND(AVG(a), -1) FROM t", 30, 0, 1),
    ("SELECT ROUND(a, 2) FROM t WHERE id = 1", 3.25, 0, 1),
    ("SELECT COUNT(*) FILTER (WHERE a > 1) FROM t", 3, 0, 1),
    ("SELECT region FROM t GROUP BY region HAVING COUNT(*) > 2 ORDER BY region LIMIT 1", "x",
     0, 1),
    ("SELECT region FROM t GROUP BY region ORDER BY region LIMIT 1", "x", 0, 1),
    ("SELECT DISTINCT region FROM t WHERE a = 1", "x", 0, 1),
    ("SELECT COUNT(*) FROM t WHERE a = 1 OR b = 2 AND c = 3", 3, 0, 1),  # AND inside OR
    ("SELECT COUNT(*) FROM t WHERE name > 'M'", 3, 0, 1),  # text order
    ("SELECT COUNT(*) FROM t WHERE a = b", 3, 0, 1),  # column against column
    ("SELECT COUNT(*) FROM t WHERE TRIM(a) = 'x'", 3, 0, 1),
    ("SELECT COUNT(*) FROM t WHERE a LIKE 'x%' ESCAPE '!'", 3, 0, 1),
    ("SELECT * FROM t ORDER BY a DESC LIMIT 1", "x", 0, 1),
    ("SELECT a FROM t UNION SELECT a FROM u", "x", 0, 1),
    ("SELECT COUNT(*) FROM t", 3, 1, 1),  # no such column
    ("not sql at all (", 3, 0, 1),
]


@pytest.mark.parametrize(("sql", "value", "column", "rows", "sentence"), WORDED)
def test_a_query_is_worded(sql: str, value: Any, column: int, rows: int, sentence: str) -> None:
    assert describe_query(sql, value, column=column, rows=rows) == sentence


@pytest.mark.parametrize(("sql", "value", "column", "rows"), UNSAID)
def test_what_cannot_be_worded_faithfully_gives_none(sql: str, value: Any, column: int,
                                                     rows: int) -> None:
    assert describe_query(sql, value, column=column, rows=rows) is None


@pytest.mark.parametrize(("explanation", "value", "bare"), [
    ("", 42, True),
    ("  42 ", 42, True),
    ("42.", 42, True),
    ("Final answer: 42", 42, True),
    ("1,234", 1234, True),
    ("farid haddad", "Farid Haddad", True),
    ("There are 42 orders from Spain in 2023.", 42, False),
    ("counted with SQL", 42, False),
])
def test_an_explanation_that_only_restates_the_value(explanation: str, value: Any,
                                                     bare: bool) -> None:
    assert restates(explanation, value) is bare


def test_answer_text_keeps_the_value_first_and_the_models_words_over_the_sentence() -> None:
    sentence = "Counted 42 rows of orders."
    assert answer_text(42, "", [], sentence) == f"42\n{sentence}"
    assert answer_text(42, "Final answer: 42", ["a note"], sentence) == \
        f"42\n{sentence}\n(a note)"
    assert answer_text(42, "42 orders from Spain", [], sentence) == "42\n42 orders from Spain"
    assert answer_text(42, "", [], None) == "42"


# ------------------------------------------------------------------ real DuckDB results


@pytest.fixture(scope="module")
def sql_tool() -> Iterator[SqlTool]:
    orders = pd.DataFrame({
        "country": ["Spain", "Spain", "France", "Spain", "Italy", "France"],
        "year": [2023, 2023, 2023, 2024, 2024, 2023],
        "region": ["West", "West", "North", "West", None, "North"],
        "amount": [1200.5, 34.0, 99.0, 500.0, 10.25, 2000.0],
        "customer": ["Ann Lee", "Bo Chen", "Farid Haddad", "Ann Lee", "Cy Park", "Farid Haddad"],
        "placed": pd.to_datetime(["2023-01-05", "2023-02-10", "2023-03-01", "2024-01-07",
                                  "2024-05-05", "2023-12-24"]),
    })
    table = Table(name="orders", sheet="Orders", range="A1:F7", header_rows=[1],
                  columns=list(orders.columns), frame=orders)
    workbook = Workbook(source="orders.xlsx", format="xlsx",
                        sheets=[Sheet(name="Orders", table_names=["orders"])], tables=[table])
    tool = SqlTool(workbook, timeout_s=5)
    yield tool
    tool.close()


def run_sql(tool: SqlTool, query: str) -> Seen:
    """One sql step as the loop keeps it (agent/loop.py builds the same Seen)."""
    result = tool({"query": query})
    assert result.error is None, result.error
    payload = sql_payload(result)
    assert payload is not None
    value, has_value = result_value("sql", result)
    return Seen("sql", True, value, has_value, payload["frame"], str(payload["sql"]))


@pytest.mark.parametrize(("query", "answer", "sentence"), [
    ("SELECT COUNT(*) FROM orders WHERE country = 'Spain' AND year = 2023", 2,
     "Counted 2 rows of orders where country is Spain and year is 2023."),
    ("SELECT SUM(amount) FROM orders WHERE region = 'West'", 1734.5,
     "The total of amount in orders where region is West is 1,734.5."),
    ("SELECT round(avg(amount), 1) FROM orders WHERE year = 2023", 833.4,
     "The average of amount in orders where year is 2023 is 833.4 (rounded to 1 decimal "
     "place)."),
    ("SELECT count(DISTINCT customer) FROM orders WHERE region IS NOT NULL", 3,
     "Counted 3 distinct values of customer in orders where region is not empty."),
    ("SELECT customer, amount FROM orders ORDER BY amount DESC LIMIT 1", "Farid Haddad",
     "Farid Haddad has the highest amount in orders."),
    ("SELECT customer, amount FROM orders ORDER BY amount DESC LIMIT 1", 2000,
     "The highest amount in orders is 2000."),
    ("SELECT MAX(placed) FROM orders WHERE country ILIKE 'spain'", "2024-01-07",
     "The latest placed in orders where country is spain (ignoring case) is 2024-01-07."),
    ("SELECT region, COUNT(*) AS n FROM orders GROUP BY region ORDER BY n DESC LIMIT 1", "West",
     "West is the region with the most rows in orders."),
    # MySQL spelling: the guard turns it into DuckDB first, and the sentence reads what ran
    ("SELECT `customer` FROM orders WHERE `year` = 2024 ORDER BY `amount` DESC LIMIT 1",
     "Ann Lee", "Ann Lee has the highest amount in orders where year is 2024."),
    ('SELECT "customer" FROM orders WHERE "year" = 2024 ORDER BY "amount" LIMIT 1', "Cy Park",
     "Cy Park has the lowest amount in orders where year is 2024."),
])
def test_a_real_result_is_worded(sql_tool: SqlTool, query: str, answer: Any,
                                 sentence: str) -> None:
    seen = run_sql(sql_tool, query)
    assert answer_sentence(answer, [seen]) == sentence


@pytest.mark.parametrize(("query", "answer"), [
    ("SELECT COUNT(*) FROM orders", 7),  # not what the query gave
    ("SELECT country FROM orders WHERE year = 2024", "Spain"),  # the first of two rows
    ("SELECT DISTINCT country FROM orders ORDER BY country", ["France", "Italy", "Spain"]),
    ("SELECT COUNT(*) AS a, COUNT(*) AS b FROM orders", 6),  # which column gave it?
    ("SELECT COUNT(*) FROM orders o JOIN orders p ON o.customer = p.customer", 10),
    # MySQL sorts NULLs first going up: the DuckDB that ran says NULLS FIRST, so the first
    # row could be one with no amount
    ("SELECT `customer` FROM orders WHERE `year` = 2024 ORDER BY `amount` LIMIT 1", "Cy Park"),
])
def test_a_real_result_that_gives_no_sentence(sql_tool: SqlTool, query: str,
                                              answer: Any) -> None:
    assert answer_sentence(answer, [run_sql(sql_tool, query)]) is None


def test_only_the_last_query_or_python_result_counts(sql_tool: SqlTool) -> None:
    count = run_sql(sql_tool, "SELECT COUNT(*) FROM orders")
    assert answer_sentence(6, [count]) == "Counted 6 rows of orders."
    python = Seen("python", True, 6, True)
    assert answer_sentence(6, [count, python]) is None  # python computed the answer
    failed = Seen("sql", False, error="no such column")
    assert answer_sentence(6, [count, failed]) == "Counted 6 rows of orders."
    assert answer_sentence(6, []) is None
    assert answer_sentence(True, [count]) is None
    long = run_sql(sql_tool, "SELECT repeat('x', 100) FROM orders LIMIT 1")
    assert answer_sentence("x" * 100, [long]) is None  # long text is no value to word


# ------------------------------------------------------------------ the loop


def test_a_bare_answer_after_a_count_gets_the_sentence(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT COUNT(*) FROM sales WHERE Region = 'North'"),
        tool_call("final_answer", answer="3"),
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many North sales are there?")
    assert answer.status == "ok" and answer.value == 3
    assert answer.text == "3\nCounted 3 rows of sales where Region is North."


def test_the_models_own_explanation_is_kept_as_is(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT COUNT(*) FROM sales WHERE Region = 'North'"),
        tool_call("final_answer", answer="3", explanation="Three sales were in the North."),
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many North sales are there?")
    assert answer.value == 3 and answer.text == "3\nThree sales were in the North."
