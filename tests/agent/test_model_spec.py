"""Model spec strings (agent.models.spec) and how `resolve` reads them: parsed exactly, printed
back the same, and every malformed one refused with a message that names the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import AgentError, ModelSpecError, UsageError
from agent.models import Backend, resolve
from agent.models.local import LocalServerError
from agent.models.scripted import ScriptedChatModel
from agent.models.spec import ModelSpec, load_script, parse_spec, spec_string
from agent.models.weights import LocalModelError

GOOD = [
    ("local:", ModelSpec("local")),
    ("local:qwen2.5-coder-0.5b", ModelSpec("local", "qwen2.5-coder-0.5b")),
    ("  local:qwen2.5-coder-1.5b ", ModelSpec("local", "qwen2.5-coder-1.5b")),
    ("openai:Qwen/Qwen2.5-7B-Instruct@http://gpu:8000/v1",
     ModelSpec("openai", "Qwen/Qwen2.5-7B-Instruct", ("http://gpu:8000/v1",))),
    ("openai:m@http://a:8000/v1,https://b/v1",
     ModelSpec("openai", "m", ("http://a:8000/v1", "https://b/v1"))),
    ("openai:m@http://a/v1, http://b/v1", ModelSpec("openai", "m", ("http://a/v1", "http://b/v1"))),
    ("openai:m", ModelSpec("openai", "m")),
    ("openai:@http://a/v1", ModelSpec("openai", None, ("http://a/v1",))),
    ("openai:", ModelSpec("openai")),
    ("scripted:demo.json", ModelSpec("scripted", path=Path("demo.json"))),
    ("scripted:/tmp/a b/demo.yaml", ModelSpec("scripted", path=Path("/tmp/a b/demo.yaml"))),
]

BAD = [
    ("gpt-4o", "does not start with local:, openai: or scripted:"),
    ("", "does not start with"),
    ("opnai:m@http://a/v1", "did you mean openai:?"),
    ("scriptd:x.json", "did you mean scripted:?"),
    ("local:gpt-17", "no local model named 'gpt-17'"),
    ("openai:m@", "nothing after '@'"),
    ("openai:m@ftp://a", "'ftp://a' must start with http:// or https://"),
    ("openai:m@a:8000", "must start with http://"),
    ("openai:m@http://a/v1,,http://b/v1", "an empty URL in the server list"),
    ("scripted:", "needs the path of the script file"),
]


@pytest.mark.parametrize(("text", "spec"), GOOD)
def test_good_specs_parse_to_their_fields(text: str, spec: ModelSpec) -> None:
    assert parse_spec(text) == spec
    assert parse_spec(spec_string(spec)) == spec


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_specs_name_the_problem_and_the_accepted_forms(text: str, problem: str) -> None:
    with pytest.raises(ModelSpecError) as caught:
        parse_spec(text)
    message = str(caught.value)
    assert problem in message
    assert f"model spec {text!r}" in message
    assert "local:[NAME]" in message and "openai:NAME@URL" in message and "scripted:<path" in message


def test_errors_share_the_agent_root() -> None:
    assert issubclass(ModelSpecError, UsageError) and issubclass(ModelSpecError, ValueError)
    for error in (LocalModelError, LocalServerError):
        assert issubclass(error, AgentError) and not issubclass(error, UsageError)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_scripts_are_read_from_json_and_yaml(tmp_path: Path) -> None:
    turns = [{"tool": "sql", "args": {"query": "SELECT 1"}}, "done"]
    assert load_script(write(tmp_path / "s.json", json.dumps(turns))) == turns
    yaml_text = "- tool: sql\n  args:\n    query: SELECT 1\n- done\n"
    assert load_script(write(tmp_path / "s.yaml", yaml_text)) == turns


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("missing.json", None, "cannot read it"),
    ("broken.json", "[{", "not valid JSON"),
    ("broken.yml", "- [unclosed", "not valid YAML"),
    ("object.json", '{"tool": "sql"}', "must hold a list of replies, not a dict"),
])
def test_bad_scripts_say_what_is_wrong(tmp_path: Path, name: str, text: str | None,
                                       problem: str) -> None:
    path = tmp_path / name if text is None else write(tmp_path / name, text)
    with pytest.raises(ModelSpecError, match=problem) as caught:
        load_script(path)
    assert name in str(caught.value) and "\n" not in str(caught.value)


def test_resolve_builds_a_scripted_model_from_its_spec(tmp_path: Path) -> None:
    script = write(tmp_path / "demo.json", json.dumps(["hello", "again"]))
    for given in (f"scripted:{script}", parse_spec(f"scripted:{script}")):
        backend = resolve(given)
        assert isinstance(backend.llm, ScriptedChatModel) and backend.llm.remaining == 2
        assert (backend.kind, backend.name, backend.tool_mode) == (
            "scripted", "scripted:demo.json", "native")


def test_resolve_tells_a_scripted_model_by_its_class_not_its_name() -> None:
    class ScriptedSubclass(ScriptedChatModel):
        pass

    assert resolve(ScriptedSubclass(responses=["x"])).kind == "scripted"
    assert resolve(ScriptedChatModel(["x"]), tool_mode="text").tool_mode == "text"
    backend = Backend(ScriptedChatModel(["x"]), "mine")
    assert resolve(backend) is backend


def test_resolve_reads_openai_specs_without_calling_the_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLEPILOT_BASE_URL", raising=False)
    one = resolve("openai:m@http://127.0.0.1:9/v1")
    assert (one.kind, one.name, one.tool_mode) == ("openai", "m", "native")
    assert str(one.llm.openai_api_base) == "http://127.0.0.1:9/v1"
    two = resolve("openai:m@http://127.0.0.1:9,http://127.0.0.1:10")
    assert two.kind == "openai" and two.name == "m (2 servers)"
    # openai:NAME takes the server from base_url (or TABLEPILOT_BASE_URL) ...
    assert resolve("openai:m", base_url="http://127.0.0.1:9/v1").name == "m"
    monkeypatch.setenv("TABLEPILOT_BASE_URL", "http://127.0.0.1:11/v1")
    assert str(resolve("openai:m").llm.openai_api_base) == "http://127.0.0.1:11/v1"
    # ... and the name from model_name when the spec leaves it out
    assert resolve("openai:@http://127.0.0.1:9/v1", model_name="named").name == "named"


def test_openai_spec_without_any_server_is_a_usage_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLEPILOT_BASE_URL", raising=False)
    with pytest.raises(ModelSpecError, match="openai:m names no server: add @URL"):
        resolve("openai:m")


def test_bare_names_keep_meaning_a_model_at_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLEPILOT_BASE_URL", "http://127.0.0.1:9/v1")
    for bare in ("Qwen/Qwen2.5-7B-Instruct", "mistral:latest"):  # an Ollama-style tag too
        backend = resolve(bare)
        assert (backend.kind, backend.name) == ("openai", bare)
    assert resolve(model_name="named", base_url="http://127.0.0.1:12/v1").name == "named"


def test_a_misspelt_prefix_is_refused_not_taken_for_a_model_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLEPILOT_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(ModelSpecError, match="did you mean local:"):
        resolve("locl:qwen2.5-coder-0.5b")


def test_local_specs_name_the_model_to_fetch(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("TABLEPILOT_CACHE", str(tmp_path))  # nothing fetched here
    for given, keywords in (("local:qwen2.5-coder-0.5b", {}),
                            (None, {"local": "qwen2.5-coder-0.5b"}),
                            (None, {"local": True, "model_name": "qwen2.5-coder-0.5b"})):
        with pytest.raises(LocalServerError,
                           match=r"'qwen2\.5-coder-0\.5b' is not fetched; run: "
                                 r"python -m agent\.models\.weights fetch"):
            resolve(given, **keywords)
