"""WikiTQ-style answer shaping, schema quoting and the nudge after a query that found nothing
(scripted model over real workbooks)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

import prompts
from agent import Answer, TableAgent
from agent.models.scripted import ScriptedChatModel
from agent.retriever import _table_spec
from agent.values import shape_for_question
from agent.view import schema_line, sql_name


@pytest.mark.parametrize(("question", "value", "expected"), [
    ("how many songs scored over 100 points?", ["A", "B", "C"], 3),
    ("how many titles did they win?", "3 titles", 3),
    ("what is the number of towns in the county?", "three", 3),
    ("how many players are listed?", 12, 12),
    ("how many wins did they have?", "Ryan Hall", "Ryan Hall"),
    ("who scored more, grant or benyon?", "Elliot Benyon", "benyon"),
    ("which is longer, the nile or the amazon?", "Amazon", "Amazon"),
    ("who had more goals, ross jenkins or nigel gibbs?", "Ross Jenkins", "Ross Jenkins"),
    ("who came first, smith or smithers?", "Ann Smith-Jones", "Ann Smith-Jones"),
    ("did the team win in 2004?", True, "yes"),
    ("name one song that did not earn 60 points.", ["A", "B"], "A"),
    ("name a team that won twice", ["Reds"], ["Reds"]),
    ("how many more points did a score than b?", -7, 7),
    ("what is the difference in height between the two towers?", -12.5, 12.5),
    ("what was the lowest temperature?", -12, -12),
    ("which players are under six feet tall?", ["Louis Delmas", "Derrick Williams"],
     ["Louis Delmas", "Derrick Williams"]),
])
def test_answers_take_the_shape_the_question_asks_for(question: str, value: object,
                                                      expected: object) -> None:
    assert shape_for_question(question, value)[0] == expected


def test_names_are_quoted_as_sql_needs_them() -> None:
    assert sql_name("Player") == "Player" and sql_name("order") == '"order"'
    assert sql_name("Total Goals") == '"Total Goals"' and sql_name('a"b') == '"a""b"'
    assert schema_line({"t": ["Rank", "Producer(s)"]}) == 't(Rank, "Producer(s)")'


def test_sql_exemplars_use_only_their_table_and_columns() -> None:
    sql_items = [e for e in prompts.load_jsonl("exemplars.jsonl")
                 if all(s["tool"] == "sql" for s in e["steps"])]
    assert len(sql_items) >= 25
    for item in sql_items:
        spec = _table_spec(item["table"])
        assert spec is not None, item["id"]
        name, columns, _ = spec
        known = {c.lower() for c in columns} | {"rowid"}
        for step in item["steps"]:
            tree = sqlglot.parse_one(step["args"]["query"], read="duckdb")
            aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
            assert {t.name for t in tree.find_all(exp.Table)} == {name}, item["id"]
            used = {c.name.lower() for c in tree.find_all(exp.Column)}
            assert used <= known | aliases, (item["id"], used - known)


def workbook(path: Path, columns: dict[str, list[object]]) -> Path:
    """A one-sheet .xlsx with these columns, written for real."""
    pd.DataFrame(columns).to_excel(path, index=False)
    return path


def ask_text(model: ScriptedChatModel, source: Path, question: str) -> Answer:
    """Ask with the text protocol and no python tool (the WikiTQ setting)."""
    return TableAgent(model, python=False, tool_mode="text").ask(source, question)


@pytest.fixture
def scorers_xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "scorers.xlsx"
    pd.DataFrame({"Name": ["Ryan Hall", "Elliot Benyon", "Anthony Grant"],
                  "Total Goals": [14, 2, 1]}).to_excel(path, index=False, sheet_name="Scorers")
    return path


def test_schema_line_in_the_prompt_quotes_names(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel(["```sql\nSELECT COUNT(*) FROM scorers\n```", "Final answer: 3"])
    ask_text(model, scorers_xlsx, "How many players?")
    assert '(Name, "Total Goals")' in str(model.calls[0][-1].content)


def test_an_answer_after_an_empty_result_is_sent_back_once(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT Name FROM scorers WHERE Name = 'Grant'\n```",
        "Final answer: Grant",
        "```sql\nSELECT Name FROM scorers WHERE Name ILIKE '%grant%' OR Name ILIKE '%benyon%'"
        " ORDER BY \"Total Goals\" DESC LIMIT 1\n```",
        "Final answer: Elliot Benyon",
    ])
    answer = ask_text(model, scorers_xlsx, "who scored more, grant or benyon?")
    # the empty result named the real value, and the unsupported answer went back
    assert "'Anthony Grant'" in answer.steps[0].output
    assert "returned no rows" in str(model.calls[2][-1].content)
    assert [s.tool for s in answer.steps] == ["sql", "sql"]
    assert answer.status == "ok" and answer.value == "benyon"  # the question's own option


def test_a_zero_count_over_a_text_that_is_no_value_is_questioned(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT COUNT(*) AS n FROM scorers WHERE Name = 'Grant'\n```",
        "Final answer: 0",
        "```sql\nSELECT COUNT(*) AS n FROM scorers WHERE Name ILIKE '%grant%'\n```",
        "Final answer: 1",
    ])
    answer = ask_text(model, scorers_xlsx, "how many players named grant are there?")
    assert "closest values: 'Anthony Grant'" in answer.steps[0].output
    assert answer.value == 1 and len(answer.steps) == 2


def test_a_text_far_from_every_value_is_answered_with_what_the_column_holds(
        tmp_path: Path) -> None:
    # 'Titles' is text because one cell is '8²'
    path = workbook(tmp_path / "clubs.xlsx", {"Club": ["Rams", "Lions", "Wolves", "Swans"],
                                              "Titles": ["4", "0", "8²", "0"]})
    model = ScriptedChatModel([
        "```sql\nSELECT COUNT(*) AS n FROM sheet1 WHERE Titles = 'Single'\n```",
        "```sql\nSELECT COUNT(*) AS n FROM sheet1 WHERE \"Titles\" = 'Single'\n```",
        "```sql\nSELECT COUNT(*) AS n FROM sheet1 WHERE Titles = '0'\n```",
        "Final answer: 2",
    ])
    answer = ask_text(model, path, "how many clubs have not won a single title?")
    first, again = answer.steps[0].output, answer.steps[1].output
    assert "'Single' is in no column" in first and "holds values like '4', '0', '8²'" in first
    assert "ran before" not in first and "ran before and found nothing" in again
    assert "If this is the answer" not in first  # a count over no real value is no answer
    assert answer.value == 2 and len(answer.steps) == 3


def test_a_zero_count_over_real_values_is_accepted(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT COUNT(*) AS n FROM scorers WHERE \"Total Goals\" > 100\n```",
        "Final answer: 0",
    ])
    answer = ask_text(model, scorers_xlsx, "how many players scored over 100 goals?")
    assert answer.value == 0 and len(model.calls) == 2


def test_a_listed_result_answers_how_many_with_its_count(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT Name FROM scorers WHERE \"Total Goals\" < 10\n```",
        "Final answer: see above",
    ])
    answer = ask_text(model, scorers_xlsx, "how many players scored fewer than 10 goals?")
    assert answer.value == 2 and "counted" in answer.text


def test_a_text_compared_with_the_wrong_column_names_the_right_one(tmp_path: Path) -> None:
    path = workbook(tmp_path / "awards.xlsx", {
        "Award": ["Teen Choice Awards"] * 3 + ["Emmy"],
        "Category": ["Choice TV Sidekick", "Choice TV Actor", "Choice TV Sidekick", "Best Actor"],
        "Result": ["Won", "Nominated", "Won", "Nominated"]})
    model = ScriptedChatModel([
        "```sql\nSELECT COUNT(*) AS n FROM awards WHERE Award = 'Choice TV Sidekick'\n```",
        "Final answer: 0",
        "```sql\nSELECT COUNT(*) AS n FROM awards WHERE Category = 'Choice TV Sidekick'\n```",
        "Final answer: 2",
    ])
    answer = ask_text(model, path, "how many choice tv sidekick awards were there?")
    assert "found in column Category ('Choice TV Sidekick')" in answer.steps[0].output
    assert answer.value == 2


def test_an_answer_right_after_a_failed_query_is_sent_back_once(scorers_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT Name FROM scorers WHERE rowid = 'x' - 1\n```",
        "Final answer: DATE",
        "```sql\nSELECT Name FROM scorers ORDER BY rowid LIMIT 1\n```",
        "Final answer: Ryan Hall",
    ])
    answer = ask_text(model, scorers_xlsx, "who is listed first?")
    assert answer.steps[0].error is not None
    assert "failed or returned no rows" in str(model.calls[2][-1].content)
    assert answer.value == "Ryan Hall"
    model = ScriptedChatModel([
        "```sql\nSELECT Name FROM scorers WHERE rowid = 'x' - 1\n```",
        "Final answer: Error (query): Binder Error",
        "Final answer: Error (query): Binder Error",
    ])
    answer = ask_text(model, scorers_xlsx, "who is first?")
    assert answer.value is None  # a copied error message is no answer


def test_an_ilike_pattern_that_matches_nothing_names_the_right_column(tmp_path: Path) -> None:
    path = workbook(tmp_path / "race.xlsx", {"Cyclist": ["Ann Lee", "Bo Kim", "Cy Dee"],
                                             "Team": ["Ukraine", "Belgium", "France"]})
    model = ScriptedChatModel([
        "```sql\nSELECT Team FROM race WHERE Cyclist ILIKE '%belgium%'\n```",
        "Final answer: none",
        "Final answer: none",
    ])
    answer = ask_text(model, path, "who rode for belgium?")
    assert "found in column Team ('Belgium')" in answer.steps[0].output
    assert len(model.calls) == 3  # the answer went back once, then was taken
