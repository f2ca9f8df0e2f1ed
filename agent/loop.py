"""The driver: ask the model, run its calls, until an answer or a limit.

One ``Run`` answers one question. The model (agent/models/contract.py) sees the opening turn
(agent/prompting.py) and calls one tool per step. Everything that repairs or judges what it does
is a named rule (agent/rules/), asked at its point of the loop: call rules when a call arrives
and before it runs, observe rules on each result, reply rules on a text reply, check and shape
rules on an answer. Every rule that fires is recorded in its step and in the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent import drafts, edit_prompt, prompting
from agent.answer import Answer, Status, Step
from agent.context import Limits, TurnContext
from agent.errors import ModelCallError
from agent.informer import Informer
from agent.models import Backend
from agent.models.contract import Call, ChatModel, Reply
from agent.retriever import Retriever
from agent.rules import RuleSet, select
from agent.rules.base import Accept, Drafted, Proposed, RunState, Seen, SendBack
from agent.rules.engine import Engine
from agent.runlog import RunLog, answer_text, shown_explanation, stopped_text
from agent.steps import jsonable_args, result_value, step_payload, truncate
from agent.values import coerce_answer
from agent.wording import answer_sentence
from tools.base import Tool, ToolResult
from tools.payloads import pending_payload, sheet_payload, sql_payload

__all__ = ["Limits", "OnStep", "OnText", "Run", "TurnContext"]

OnStep = Callable[[Step], None]
OnText = Callable[[str], None]
AGAIN = "again"  # the answer went back to the model


class Run:
    def __init__(self, backend: Backend | ChatModel, tools: list[Tool], question: str, *,
                 context: TurnContext | None = None, limits: Limits | None = None,
                 informer: Informer | None = None, retriever: Retriever | None = None,
                 rules: RuleSet | None = None, on_step: OnStep | None = None,
                 on_text: OnText | None = None,
                 after_tool: Callable[[str, ToolResult], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = limits or Limits()
        self.model = backend if isinstance(backend, ChatModel) else ChatModel(
            backend, retries=self.limits.model_retries, sleep=sleep)
        self.tools = {t.name: t for t in tools}
        self.question, self.context, self.informer = question, context or TurnContext(), informer
        self.retriever = retriever or Retriever(
            mode="text" if self.model.text_protocol else "native")
        self.rules = Engine(rules if rules is not None else select(), self.state)
        self.on_step, self.on_text, self.after_tool = on_step, on_text, after_tool
        self.msg, self.nudged = prompting.messages_text(), False
        self.log = RunLog(question, self.model.name, list(self.context.view_tables))
        self.messages: list[BaseMessage] = []
        intent = self.context.intent
        # an edit request gets the edit prompt (agent/edit_prompt.py): layout, sheet actions
        self.edit_mode = bool(intent is not None and intent.is_edit and "sheet" in self.tools
                              and self.context.workbook is not None)
        self.ended: Answer | None = None  # set when a rule ends the run inside a step

    def execute(self) -> Answer:
        self.log.started = time.monotonic()
        tools = list(self.tools.values())
        if self.edit_mode:
            self.messages = edit_prompt.opening(
                self.question, self.context.intent, self.context.workbook,
                self.context.history, self.model.text_protocol)
        else:
            self.messages = prompting.opening(tools, self.question, self.context,
                                              self.retriever, self.model.text_protocol)
        self.specs = prompting.tool_specs(tools)
        self.short = drafts.short_draft(self.model, self.context, self.question, self.limits,
                                        list(self.tools), self.deadline(), self.log.charge)
        errors = format_errors = 0
        while True:
            if reason := self.limit_reason():
                return self.stop("limit", reason)
            try:
                reply = self.model.complete(self.messages, self.specs, deadline=self.deadline())
            except ModelCallError as exc:
                if exc.timeout:
                    return self.stop("limit", f"time limit ({self.limits.timeout_s:.0f}s): {exc}")
                return self.stop("error", str(exc))
            self.log.charge(reply.usage)
            if reply.text.strip() and self.on_text:
                self.on_text(reply.text)
            if not reply.calls:
                format_errors += 1
                if reply.invalid:
                    self.messages += self.model.invalid_messages(
                        reply, self.msg["invalid_call"].format(error=reply.invalid))
                    why = f"the model's tool calls could not be parsed {format_errors} times: " \
                          f"{reply.invalid}"
                elif isinstance(answer := self.take_reply(reply), Answer):
                    return answer
                else:
                    why = "the model answered with text but no usable answer or tool call"
                if format_errors > self.limits.max_format_errors:
                    return self.stop("model_format", why)
                continue
            self.messages.append(self.model.assistant_message(reply, reply.calls))
            thought = reply.thought
            for call in reply.calls:
                outcome = self.handle(call, thought, len(reply.calls))
                thought = ""
                if isinstance(outcome, Answer):
                    return outcome
                if outcome == AGAIN:
                    break
                errors = 0 if outcome else errors + 1
            if errors >= self.limits.max_errors:
                return self.stop("tool_error", f"{errors} tool errors in a row; last: "
                                 f"{self.log.steps[-1].error}")

    def handle(self, call: Call, thought: str, n_calls: int) -> Answer | bool | str:
        """One call: an answer, AGAIN, or a tool step (True when the tool succeeded)."""
        call, rewrites = self.rules.rewrite(call)
        if call.name == "final_answer":
            for rule_id in rewrites:
                self.log.fire(rule_id)
            args = call.args
            return self.finish(Accept(args.get("answer", args.get("value")), "final_answer",
                                      "final_answer", str(args.get("explanation") or thought)))
        if len(self.log.steps) >= self.limits.max_steps:
            return self.stop("limit", f"step limit reached ({self.limits.max_steps} tool calls)")
        if taken := self.rules.accept(call):
            self.log.fire(taken[0].id, taken[1].source)
            return self.finish(replace(taken[1], explanation=thought))
        done = None
        if drafts.should_draft(self.limits.samples, call, n_calls, list(self.tools),
                               any(s.ok and s.has_value for s in self.log.seen)):
            done = self.draft(call)
            if done.chosen.reply is not None:  # a sampled draft won: it stands in the talk
                self.messages[-1] = self.model.assistant_message(done.chosen.reply,
                                                                 [done.chosen.call])
                thought = done.chosen.reply.thought
            call = done.chosen.call
        ok = self.step(call, thought, done, rewrites)
        return self.ended if self.ended is not None else ok

    def step(self, call: Call, thought: str, done: drafts.Drafted | None,
             rules: list[str]) -> bool:
        """Run the call (unless a rule refuses it), show the model the result, log the step."""
        started, refusal = time.perf_counter(), self.rules.refusal(call)
        error: str | None
        if call.name not in self.tools:
            text = self.msg["unknown_tool"].format(name=call.name, tools=", ".join(
                [*self.tools, "final_answer"]))
            result, error = ToolResult(observation=text), text
        elif refusal is not None:
            rules.append(refusal[0].id)
            result, error = ToolResult(observation=refusal[1].observation), refusal[1].error
        else:
            result = done.chosen.result if done and done.chosen.result else self.tools[
                call.name](dict(call.args))
            error = result.error.render() if result.error else None
        rules += [str(r) for r in sql.get("repairs", [])] if (sql := sql_payload(result)) else []
        rules = list(dict.fromkeys([*rules, *(done.rules if done else [])]))
        observation = result.observation or ""
        drafted = drafted_edit(call, result) if error is None else None
        accepted: Accept | None = None
        if drafted is not None and (verdict := self.rules.edit(drafted)) is not None:
            rule, judged = verdict
            if isinstance(judged, SendBack):  # the edit goes back: not kept, the model retries
                revert = getattr(self.tools[call.name], "revert", None)
                if callable(revert):
                    revert(result)
                rules.append(rule.id)
                observation, error, drafted = judged.message, judged.message, None
            else:
                accepted = judged
                self.log.fire(rule.id, accepted.source)
        if done and done.vote and error is None:
            observation = f"({done.vote})\n{observation}"
        value, has_value = result_value(call.name, result) if error is None else (None, False)
        seen = Seen(call.name, error is None, value, has_value,
                    sql["frame"] if sql is not None and call.name == "sql" else None,
                    str(sql.get("sql") or "") if sql is not None else "", jsonable_args(call.args),
                    observation, error, tuple(rules), drafted)
        seen, hints = self.rules.observe(seen)
        shown = truncate(observation, self.limits.observation_chars) + hints
        self.messages.append(self.model.observation_message(call, shown, self.msg["observation"]))
        duration = done.chosen.duration_s if done else time.perf_counter() - started
        step = Step(index=len(self.log.steps) + 1, tool=call.name, input=jsonable_args(call.args),
                    output=shown, error=error, duration_s=round(duration, 6), thought=thought,
                    payload=step_payload(result, done.log if done else None),
                    rules=list(seen.rules))
        self.log.add(step, replace(seen, output=shown), result)
        if self.after_tool is not None and error is None:
            self.after_tool(call.name, result)
        if self.on_step:
            self.on_step(step)
        if accepted is not None:
            self.ended = self.log.edit_answer()
        return error is None

    def take_reply(self, reply: Reply) -> Answer | None:
        """A reply with no call: the answer, or it goes back (a nudge, or a check's advice)."""
        self.messages.append(AIMessage(content=reply.text))
        if taken := self.rules.reply(reply.text):
            self.log.fire(taken[0].id, taken[1].source)
            answer = self.finish(taken[1])
            return answer if isinstance(answer, Answer) else None
        self.nudged = True
        self.messages.append(HumanMessage(self.nudge()))
        return None

    def finish(self, accept: Accept) -> Answer | str:
        """Check and shape an answer; AGAIN when a check sent it back to the model."""
        value = accept.raw if accept.via == "result" else coerce_answer(accept.raw)
        proposed = Proposed(accept.raw, value, accept.via)
        if checked := self.rules.check(proposed):
            rule, verdict = checked
            if isinstance(verdict, SendBack):
                self.log.fire(rule.id, verdict.message)
                self.messages.append(HumanMessage(verdict.message))
                return AGAIN
            self.log.fire(rule.id, verdict.reason)
            return self.stop(verdict.status, verdict.reason)
        if self.log.edits:  # an edit's answer is the model's words about it, not a value
            said = str(accept.raw).strip() if accept.raw not in (None, "") else ""
            answer = self.log.edit_answer()
            if said and said.lower() not in ("done", "ok", "finished"):
                answer.text = f"{said}\n{answer.text}"
            return answer
        value, shaped = self.rules.shape(proposed)
        for rule_id, note in shaped:
            self.log.fire(rule_id, note)
        # a bare value gets a sentence saying what the query behind it counted or found
        sentence = None if shown_explanation(value, accept.explanation) else answer_sentence(
            value, self.log.seen)
        text = answer_text(value, accept.explanation, [note for _, note in shaped if note],
                           sentence)
        return self.log.answer("ok", value, text, None)

    def stop(self, status: Status, reason: str) -> Answer:
        if self.log.edits:  # an edit made within the limits stands: it is the answer
            return self.log.edit_answer(f"the model did not confirm it: {reason}")
        value, has_value = self.state().last_value()
        best = None
        if has_value:
            best, shaped = self.rules.shape(Proposed(value, value, "result"))
            for rule_id, note in shaped:
                self.log.fire(rule_id, note)
        return self.log.answer(status, best, stopped_text(reason, value, has_value), reason)

    # ---------------------------------------------------------------- helpers

    def state(self) -> RunState:
        return RunState(self.question, tuple(self.tools), self.model.text_protocol,
                        {t: tuple(c) for t, c in self.context.schema.items()},
                        tuple(self.log.seen), tuple(h.rule for h in self.log.hits), self.nudged,
                        self.limits.max_steps - len(self.log.steps), self.informer,
                        self.retriever, self.msg, self.context.intent)

    def deadline(self) -> float:
        return self.log.started + self.limits.timeout_s

    def limit_reason(self) -> str | None:
        if time.monotonic() >= self.deadline():
            return f"time limit reached ({self.limits.timeout_s:.0f}s)"
        used = self.log.usage.input_tokens + self.log.usage.output_tokens
        if used >= self.limits.max_tokens:
            return f"token limit reached ({used} of {self.limits.max_tokens} tokens)"
        return None

    def nudge(self) -> str:
        if self.log.seen:
            return self.msg["nudge_tool"]
        hint = self.msg["protocol_hint_text"] if self.model.text_protocol else self.msg[
            "protocol_hint_native"].format(tools=", ".join([*self.tools, "final_answer"]))
        return self.msg["nudge_format"].format(protocol_hint=hint)

    def draft(self, greedy: Call) -> drafts.Drafted:
        timeout = self.limits.timeout_s
        done = drafts.draft_step(
            self.model, greedy, self.messages[:-1], self.specs, samples=self.limits.samples,
            temperature=self.limits.sample_temperature, deadline=self.deadline(),
            short=self.short if not self.log.steps else None,
            may_sample=lambda: (self.deadline() - time.monotonic() >= 0.25 * timeout
                                and not self.limit_reason()),
            execute=lambda c: self.tools[c.name](dict(c.args)),
            failed_before=lambda c: self.rules.refusal(c) is not None,
            in_doubt_only=self.limits.draft_on == "doubt")
        self.log.charge(done.usage)
        return done


def drafted_edit(call: Call, result: ToolResult) -> Drafted | None:
    """A sheet call's edit as the edit checks see it (saved or proposed), else None."""
    payload = sheet_payload(result) or pending_payload(result)
    if call.name != "sheet" or payload is None or "readback" not in payload:
        return None
    actions = jsonable_args(result.ran_with or call.args).get("actions") or []  # as repaired
    return Drafted(tuple(a for a in actions if isinstance(a, dict)),
                   tuple(payload.get("summaries") or ()), payload["readback"])
