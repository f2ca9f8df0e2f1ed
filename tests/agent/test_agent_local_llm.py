"""End to end: the real local model (llama.cpp server on 127.0.0.1) answers simple questions.

Runs when llama-cpp-python is installed and the model is fetched (``./scripts/test`` does both,
with TABLEPILOT_LOCAL_MODEL=qwen2.5-coder-0.5b).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from agent.models.local import llama_cpp_available
from agent.models.weights import default_model_name, is_fetched

MODEL = default_model_name()

pytestmark = [
    pytest.mark.llm,
    pytest.mark.timeout(900),  # three questions on 2 CPU cores, each bounded by timeout_s
    pytest.mark.skipif(not llama_cpp_available(),
                       reason="llama-cpp-python is not installed (pip install 'tablepilot[local]')"),
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
    correct = [a.value == gold for a, (_, gold) in zip(answers, questions, strict=True)]
    details = [(a.question, a.value, a.status, [s.input for s in a.steps]) for a in answers]
    assert sum(correct) >= 2, details
