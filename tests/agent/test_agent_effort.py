"""Effort settings, drafts decoded together from one request, and what a step records of the
model's time and cache: scripted model, real DuckDB over a real workbook."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage

from agent import TableAgent
from agent.models import Backend
from agent.models.scripted import ScriptedChatModel

WRONG = "SELECT COUNT(DISTINCT Year) AS n FROM sales"  # 2: plausible, wrong
RIGHT = "SELECT COUNT(DISTINCT Product) AS n FROM sales"  # 3
EMPTY = "SELECT COUNT(*) AS n FROM sales WHERE Product = 'Tee'"  # 0: leaves doubt
QUESTION = "How many products are there?"


def _local(model: ScriptedChatModel) -> Backend:
    """The scripted model standing where the local CPU model stands."""
    return Backend(model, "tiny (local llama.cpp)", "text", "local",
                   parallel_drafts=model.parallel)


def test_balanced_runs_the_first_query_alone_when_it_gives_a_value(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([f"```sql\n{WRONG}\n```", "Final answer: 2"])
    answer = TableAgent(_local(model), python=False, effort="balanced").ask(sales_xlsx, QUESTION)
    assert answer.value == 2 and len(model.calls) == 2  # no drafts, no short prompt
    assert "drafts" not in answer.steps[0].payload


def test_balanced_drafts_when_the_first_query_leaves_doubt(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        f"```sql\n{EMPTY}\n```",  # greedy: 0, so it drafts
        *[f"```sql\n{q}\n```" for q in (RIGHT, RIGHT, WRONG, EMPTY)],  # four samples
        "Final answer: 3",
    ])
    agent = TableAgent(_local(model), python=False, effort="balanced")
    answer = agent.ask(sales_xlsx, QUESTION)
    assert answer.value == 3
    [step] = answer.steps
    assert step.input["query"] == RIGHT and "2 of 5 drafts" in step.output
    assert [o.get("seed") for o in model.call_options[1:5]] == [1, 2, 3, 4]


def test_drafts_come_from_one_request_when_the_server_decodes_them_together(
        sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        f"```sql\n{RIGHT}\n```",  # short prompt, asked before the conversation
        f"```sql\n{WRONG}\n```",  # greedy
        *[f"```sql\n{q}\n```" for q in (RIGHT, RIGHT, WRONG)],  # one request for n=3
        "Final answer: 3",
    ], parallel=True)
    answer = TableAgent(_local(model), python=False, effort="thorough").ask(sales_xlsx, QUESTION)
    assert answer.value == 3 and answer.steps[0].input["query"] == RIGHT
    assert "3 of 5 drafts" in answer.steps[0].output
    assert len(model.calls) == 4  # short, greedy, one request for three drafts, the answer
    assert (model.call_options[2]["n"], model.call_options[2]["seed"]) == (3, 1)


def test_a_server_that_returns_fewer_drafts_is_asked_again_for_the_rest(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        f"```sql\n{EMPTY}\n```",
        f"```sql\n{RIGHT}\n```",  # one request for n=4 ...
        *[f"```sql\n{RIGHT}\n```"] * 3,  # ... and, as it ignored n, three more calls
        "Final answer: 3",
    ])
    backend = Backend(model, "tiny", "text", "local", parallel_drafts=True)  # claims n, ignores it
    answer = TableAgent(backend, python=False, effort="balanced").ask(sales_xlsx, QUESTION)
    assert answer.value == 3 and "4 of 5 drafts" in answer.steps[0].output
    assert [o.get("n") for o in model.call_options[1:5]] == [4, None, None, None]


def test_fast_never_drafts(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([f"```sql\n{EMPTY}\n```", f"```sql\n{RIGHT}\n```", "Final answer: 3"])
    answer = TableAgent(_local(model), python=False, effort="fast").ask(sales_xlsx, QUESTION)
    assert answer.value == 3 and len(model.calls) == 3
    assert [s.input["query"] for s in answer.steps] == [EMPTY, RIGHT]


def _with_usage(text: str, tokens_in: int, cached: int, prompt_ms: float,
                predicted_ms: float) -> AIMessage:
    return AIMessage(content=text, usage_metadata={
        "input_tokens": tokens_in, "output_tokens": 10, "total_tokens": tokens_in + 10,
        "input_token_details": {"cache_read": cached}},
        response_metadata={"timings": {"prompt_ms": prompt_ms, "predicted_ms": predicted_ms}})


def test_steps_and_answers_record_cache_and_the_servers_time_split(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        _with_usage(f"```sql\n{RIGHT}\n```", 1000, 700, 2500.0, 800.0),
        _with_usage("Final answer: 3", 1100, 1050, 300.0, 100.0),
    ])
    answer = TableAgent(_local(model), python=False, effort="fast").ask(sales_xlsx, QUESTION)
    [step] = answer.steps
    assert (step.tokens_in, step.tokens_cached) == (1000, 700)
    assert (step.prompt_s, step.generate_s) == (2.5, 0.8) and step.model_s > 0
    assert (answer.tokens_in, answer.tokens_cached) == (2100, 1750)
    assert (answer.prompt_s, answer.generate_s) == (2.8, 0.9)
    assert step.model_s <= answer.model_s <= answer.duration_s
    again = type(answer).from_dict(answer.to_dict())
    assert (again.tokens_cached, again.steps[0].prompt_s) == (1750, 2.5)


def test_the_short_prompts_tokens_are_counted_once(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        _with_usage(f"```sql\n{RIGHT}\n```", 500, 0, 1.0, 1.0),  # short prompt
        _with_usage(f"```sql\n{WRONG}\n```", 1000, 0, 1.0, 1.0),  # greedy
        _with_usage(f"```sql\n{RIGHT}\n```", 1000, 990, 1.0, 1.0),  # sample
        _with_usage("Final answer: 3", 1200, 0, 1.0, 1.0),
    ])
    answer = TableAgent(_local(model), python=False, samples=3).ask(sales_xlsx, QUESTION)
    assert answer.tokens_in == 500 + 1000 + 1000 + 1200


def test_effort_can_change_between_questions(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([f"```sql\n{EMPTY}\n```", "Final answer: 0",
                               f"```sql\n{EMPTY}\n```", *[f"```sql\n{RIGHT}\n```"] * 4,
                               "Final answer: 3"])
    agent = TableAgent(_local(model), python=False, effort="fast")
    assert agent.ask(sales_xlsx, QUESTION).steps[0].input["query"] == EMPTY
    agent.effort = "balanced"
    assert (agent.effort, agent.samples) == ("balanced", 5)
    assert agent.ask(sales_xlsx, QUESTION).value == 3
