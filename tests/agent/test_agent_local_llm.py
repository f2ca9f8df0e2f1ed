"""End to end: the real local model (llama.cpp server on 127.0.0.1) answers simple questions.

Runs when a local engine is there (llama-server, built by ./scripts/setup, or llama-cpp-python)
and the model is fetched (``./scripts/test`` does both, with TABLEPILOT_LOCAL_MODEL=
qwen2.5-coder-0.5b).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from agent.models.local import llama_cpp_available, llama_server_binary
from agent.models.weights import default_model_name, is_fetched

MODEL = default_model_name()

pytestmark = [
    pytest.mark.llm,
    pytest.mark.timeout(900),  # three questions on 2 CPU cores, each bounded by timeout_s
    pytest.mark.skipif(not llama_server_binary() and not llama_cpp_available(),
                       reason="no local engine: run scripts/build-llama-server"),
    pytest.mark.skipif(not is_fetched(MODEL),
                       reason=f"local model {MODEL} not fetched (python -m agent.models.weights fetch {MODEL})"),
]


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm") / "cities.xlsx"
    pd.DataFrame({
        "city": ["Oslo", "Paris", "Rome", "Berlin", "Madrid"],
        "country": ["Norway", "France", "Italy", "Germany", "Spain"],
        "population": [709000, 2161000, 2873000, 3645000, 3223000],
    }).to_excel(path, index=False, sheet_name="cities")
    return path


def test_local_model_answers_simple_questions(cities: Path) -> None:
    from agent import TableAgent
    from agent.models.local import stop_all

    agent = TableAgent(local=MODEL, python=False, max_steps=4, timeout_s=240)
    questions = [("Which city has the largest population?", "Berlin"),
                 ("What is the total population of all cities?", 12611000),
                 ("What is the population of Oslo?", 709000)]
    try:
        answers = [agent.ask(cities, q) for q, _ in questions]
    finally:
        stop_all()
    for answer in answers:
        assert answer.model.startswith(MODEL) and "llama.cpp" in answer.model
        assert answer.steps, "the model used a tool"
        assert 0 < answer.model_s <= answer.duration_s
    if agent.backend.engine == "llama-server":
        # the server reuses what it has read: the system prompt and exemplars the questions
        # share, and the conversation of the steps before; it says where the time went
        later = answers[1:]
        assert all(a.tokens_cached > 0 for a in later), [a.tokens_cached for a in answers]
        assert all(a.prompt_s > 0 and a.generate_s > 0 for a in answers)
    correct = [a.value == gold for a, (_, gold) in zip(answers, questions, strict=True)]
    details = [(a.question, a.value, a.status, [s.input for s in a.steps]) for a in answers]
    assert sum(correct) >= 2, details
