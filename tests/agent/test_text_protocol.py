"""Tool calls written as text: fences, JSON actions in their many shapes, final answers."""

from __future__ import annotations

from agent.models.text_protocol import parse, parse_answer_text

KNOWN = {"sql", "python", "sheet", "final_answer"}


def test_sql_fence() -> None:
    call = parse("Let me count.\n```sql\nSELECT COUNT(*) FROM t\n```\nthen answer", KNOWN).call
    assert call and call.name == "sql" and call.args == {"query": "SELECT COUNT(*) FROM t"}


def test_unlabeled_fence_that_is_sql_and_python_fence() -> None:
    assert parse("```\nWITH x AS (SELECT 1) SELECT * FROM x\n```", KNOWN).call.name == "sql"
    call = parse("```python\nprint(df.head())\n```", KNOWN).call
    assert call and call.name == "python" and call.args == {"code": "print(df.head())"}


def test_unterminated_fence() -> None:
    call = parse("```sql\nSELECT 1", KNOWN).call
    assert call and call.args["query"] == "SELECT 1"


def test_json_actions_in_their_shapes() -> None:
    shapes = [
        '{"tool": "sql", "arguments": {"query": "SELECT 1"}}',
        '{"name": "sql", "arguments": {"query": "SELECT 1"}}',
        '{"name": "sql", "parameters": {"query": "SELECT 1"}}',
        '{"function": {"name": "sql", "arguments": "{\\"query\\": \\"SELECT 1\\"}"}}',
        '<tool_call>\n{"name": "functions.sql", "arguments": {"query": "SELECT 1"}}\n</tool_call>',
        '```json\n{"tool": "sql", "arguments": {"query": "SELECT 1"}}\n```',
        "Sure: {'tool': 'sql', 'arguments': {'query': 'SELECT 1'},}",
        '{"action": "sql", "action_input": "SELECT 1"}',
    ]
    for text in shapes:
        call = parse(text, KNOWN).call
        assert call is not None, text
        assert call.name == "sql" and call.args == {"query": "SELECT 1"}, text


def test_json_with_braces_inside_strings() -> None:
    text = '{"name": "python", "arguments": {"code": "d = {\\"a\\": 1}\\nd[\\"a\\"]"}}'
    call = parse(text, KNOWN).call
    assert call and call.name == "python" and call.args["code"] == 'd = {"a": 1}\nd["a"]'


def test_sheet_action_and_unknown_tools_are_ignored() -> None:
    text = '{"tool": "sheet", "arguments": {"actions": [{"action": "write", "range": "A1", "values": 1}]}}'
    call = parse(text, KNOWN).call
    assert call and call.name == "sheet" and call.args["actions"][0]["action"] == "write"
    assert parse('{"name": "rm_rf", "arguments": {}}', KNOWN).call is None
    assert parse('{"name": "Alice", "age": 3}', KNOWN).call is None


def test_final_answer_forms() -> None:
    assert parse("Final answer: 42", KNOWN).call.args == {"answer": "42"}
    assert parse("**Final Answer:** Paris.", KNOWN).call.args == {"answer": "Paris"}
    assert parse('Answer: ["a", "b"]', KNOWN).call.args == {"answer": ["a", "b"]}
    assert parse('{"name": "final_answer", "arguments": {"answer": [1, 2]}}',
                 KNOWN).call.args == {"answer": [1, 2]}
    assert parse("no action here", KNOWN).call is None


def test_sql_written_as_the_final_answer_is_run() -> None:
    call = parse("Final answer: SELECT COUNT(*) FROM t", KNOWN).call
    assert call and call.name == "sql"


def test_parse_answer_text() -> None:
    assert parse_answer_text('"Oslo"') == "Oslo"
    assert parse_answer_text("3.") == "3"
    assert parse_answer_text('{"answer": 5}') == 5
    assert parse_answer_text("U.S.") == "U.S."


def test_function_style_calls() -> None:
    call = parse('sql(query="SELECT city FROM t ORDER BY pop DESC LIMIT 1")\nResult: ...', KNOWN).call
    assert call and call.name == "sql" and call.args == {"query": "SELECT city FROM t ORDER BY pop DESC LIMIT 1"}
    call = parse("final_answer(answer=['a', 'b'])", KNOWN).call
    assert call and call.name == "final_answer" and call.args == {"answer": ["a", "b"]}
    call = parse("sql(\"SELECT COUNT(*) FROM t WHERE name = 'x (y)'\")", KNOWN).call
    assert call and call.args == {"query": "SELECT COUNT(*) FROM t WHERE name = 'x (y)'"}
    assert parse("I will use sql(...) next", KNOWN).call is None


def test_a_reply_that_is_a_bare_query_is_a_sql_call() -> None:
    call = parse('SELECT count(*) FROM data_77', KNOWN).call
    assert call and call.name == "sql" and call.args == {"query": "SELECT count(*) FROM data_77"}
    call = parse('  WITH x AS (SELECT a FROM t) SELECT * FROM x;\n\nThis counts rows.', KNOWN).call
    assert call and call.args == {"query": "WITH x AS (SELECT a FROM t) SELECT * FROM x"}
    # prose that merely starts with the word, or a query when sql is not a tool, is no call
    assert parse("Select the row with the most goals.", KNOWN).call is None
    assert parse("SELECT a FROM t", {"python", "final_answer"}).call is None
