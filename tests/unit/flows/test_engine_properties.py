"""Property tests: any sequence of turns leaves the engine in a valid, persistable state."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import (
    ChoiceStep,
    ConfirmStep,
    ConversationState,
    DatetimeStep,
    EmailStep,
    EndStep,
    ExtractedValue,
    FileCase,
    FileInfo,
    FilesStep,
    Flow,
    Location,
    Outcome,
    PhoneStep,
    Proposal,
    ProposalStep,
    RejectedFile,
    TextStep,
    Turn,
    advance,
    default_flow_path,
    file_limits,
    load_flow,
    load_flow_text,
    pending_analysis,
    start,
)
from tests.unit.flows.flow_driver import NOW
from tests.unit.flows.test_flow_definition_loading import VALID

COMPLAINT = load_flow(default_flow_path())
BRANCHING = load_flow_text(VALID, "tiny.yaml")

TEXTS = [
    "cancel",
    "取消",
    "restart",
    "重新开始",
    "/start",
    "back",
    "返回",
    "上一步",
    "status",
    "进度",
    "help",
    "帮助",
    "/nonsense",
    "English",
    "中文",
    "skip",
    "跳过",
    "done",
    "完成",
    "keep",
    "yes",
    "是",
    "no",
    "不是",
    "confirm",
    "确认",
    "Edit name",
    "修改邮箱",
    "1",
    "2",
    "3",
    "9",
    "0",
    "Alice",
    "王小明",
    "13812345678",
    "+44 20 7946 0958",
    "12345",
    "alice@example.com",
    "not-an-email",
    "My phone screen cracked",
    "快递三天没到",
    "yesterday 3pm",
    "昨天下午三点",
    "上周五上午10点",
    "tomorrow",
    "refund",
    "退款",
    "电话",
    "both",
    "",
    "   ",
    "x" * 5000,
]
CHOICES = [
    "_yes",
    "_other",
    "_skip",
    "_done",
    "_keep",
    "_confirm",
    "_cancel",
    "_back",
    "_help",
    "_status",
    "_edit:name",
    "_edit:phone",
    "_edit:contact_method",
    "_edit:evidence",
    "_edit:category",
    "_edit:nope",
    "phone",
    "email",
    "both",
    "refund",
    "product_quality",
    "other",
    "good",
    "bad",
    "garbage",
]
MEDIA_TYPES = ["image/jpeg", "video/mp4", "application/pdf", "audio/ogg", "text/plain", "weird"]

files = st.builds(
    FileInfo,
    evidence_id=st.sampled_from([f"ev-{n}" for n in range(8)]),
    file_name=st.sampled_from(["a.jpg", "b.mp4", "c.pdf", "名字.png"]),
    media_type=st.sampled_from(MEDIA_TYPES),
    size=st.integers(min_value=0, max_value=40 * 1024 * 1024),
)
rejected = st.builds(
    RejectedFile,
    file_name=st.just("r.bin"),
    reason=st.sampled_from(["too_large", "type", "not_expected", "too_many"]),
    limit_bytes=st.one_of(st.none(), st.just(10 * 1024 * 1024)),
)
proposals = st.builds(
    Proposal,
    field=st.sampled_from(["product", "category", "colour"]),
    value=st.sampled_from(["phone_x", "product_quality", "delivery_logistics", "other", "unknown"]),
    label=st.sampled_from(["Phone X", "Quality", "物流"]),
    confidence=st.floats(min_value=0.0, max_value=1.0),
)
turns = st.builds(
    Turn,
    now=st.integers(min_value=0, max_value=10_000).map(lambda minutes: NOW + timedelta(minutes=minutes)),
    # Braces excluded so that any "{" in a reply is an engine placeholder left unfilled.
    text=st.one_of(st.none(), st.sampled_from(TEXTS), st.text(st.characters(exclude_characters="{}"), max_size=20)),
    choice=st.one_of(st.none(), st.none(), st.sampled_from(CHOICES)),
    files=st.lists(files, max_size=3).map(tuple),
    rejected_files=st.lists(rejected, max_size=1).map(tuple),
    location=st.one_of(st.none(), st.builds(Location, st.floats(-90, 90), st.floats(-180, 180), st.none())),
    locale=st.sampled_from([None, "zh-hans", "en-US", "fr"]),
    proposals=st.lists(proposals, max_size=3).map(tuple),
    edit=st.booleans(),
)


def check(flow: Flow, outcome: Outcome) -> None:
    state = outcome.state
    assert state.flow_id == flow.id and state.flow_version == flow.version
    assert flow.has_step(state.step_id)
    step = flow.step(state.step_id)
    assert (state.status == "completed") == isinstance(step, EndStep)
    assert all(flow.has_step(answer.step_id) for answer in state.answers)
    assert len({answer.step_id for answer in state.answers}) == len(state.answers)
    assert all(flow.has_step(step_id) for step_id in state.history)
    if state.pending_files:
        assert isinstance(step, FilesStep) and len(state.pending_files) <= step.max_files
    if state.awaiting_other:
        assert isinstance(step, ProposalStep)
    if state.editing:
        assert not isinstance(step, ConfirmStep)
    if state.conflict is not None:
        assert state.status == "active" and flow.has_step(state.conflict.step_id)
        assert state.conflict.offered.step_id == state.conflict.step_id
    encoded = json.dumps(state.to_json(), ensure_ascii=False)
    assert ConversationState.from_json(json.loads(encoded)) == state
    for reply in outcome.replies:
        assert reply.text.strip()
        assert "{" not in reply.text.replace("{case_number}", ""), reply.text
        assert len({choice.value for choice in reply.choices}) == len(reply.choices)
    filed = [effect for effect in outcome.effects if isinstance(effect, FileCase)]
    if filed:
        assert state.status == "completed" and len(filed) == 1
        json.dumps([answer for answer in filed[0].draft.extra])
    limits = file_limits(flow, state)
    assert (limits is not None) == (state.status == "active" and isinstance(step, FilesStep))


def run(flow: Flow, first: Turn, rest: list[Turn]) -> None:
    outcome = start(flow, first)
    check(flow, outcome)
    for turn in rest:
        pending_analysis(flow, outcome.state, turn)
        outcome = advance(flow, outcome.state, turn)
        check(flow, outcome)


PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@PROPERTY_SETTINGS
@given(first=turns, rest=st.lists(turns, max_size=30))
def test_random_turns_on_the_complaint_flow(first: Turn, rest: list[Turn]) -> None:
    run(COMPLAINT, first, rest)


@PROPERTY_SETTINGS
@given(first=turns, rest=st.lists(turns, max_size=20))
def test_random_turns_on_a_branching_flow(first: Turn, rest: list[Turn]) -> None:
    run(BRANCHING, first, rest)


def plausible_turns(flow: Flow, state: ConversationState) -> list[Turn]:
    """Answers a real customer might give to the current step, so random walks reach the end.

    Plain values (not strategies): the test draws an index, which keeps hypothesis' overhead low.
    """
    step = flow.step(state.step_id)
    texts: list[str] = []
    choices: list[str] = []
    if isinstance(step, ChoiceStep | ProposalStep):
        choices += [option.value for option in step.options] + ["_yes", "_other"]
        texts += [option.label.get(state.lang) for option in step.options] + ["1", "2", "Phone Y"]
    elif isinstance(step, TextStep):
        texts += ["Alice Wong", "My phone screen cracked on day one", "快递丢了，很生气"]
    elif isinstance(step, EmailStep):
        texts += ["alice@example.com", "bob@163.com"]
    elif isinstance(step, PhoneStep):
        texts += ["13812345678", "+44 20 7946 0958"]
    elif isinstance(step, DatetimeStep):
        texts += ["yesterday 3pm", "昨天下午三点", "2 days ago"]
    elif isinstance(step, FilesStep):
        choices += ["_done", "_skip"]
    elif isinstance(step, ConfirmStep):
        choices += ["_confirm", "_confirm"] + [f"_edit:{answer.step_id}" for answer in state.answers]
    if step.optional:
        choices.append("_skip")
    analyzed = (Proposal("product", "phone_x", "Phone X", 0.8), Proposal("category", "other", "Other", 0.9))
    candidates = [Turn(now=NOW, text=text, proposals=analyzed) for text in texts]
    candidates += [Turn(now=NOW, choice=choice) for choice in choices]
    candidates += [Turn(now=NOW, files=(FileInfo(f"ev-{n}", f"{n}.jpg", "image/jpeg", 1000 * n),)) for n in range(3)]
    return candidates


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_plausible_conversations_reach_valid_states(data: st.DataObject) -> None:
    flow = COMPLAINT
    outcome = start(flow, data.draw(turns))
    check(flow, outcome)
    for _ in range(data.draw(st.integers(min_value=10, max_value=40))):
        state = outcome.state
        # Mostly sensible answers, sometimes anything at all (commands, edits, files, locations ...).
        if data.draw(st.integers(min_value=0, max_value=5)) == 0:
            turn = data.draw(turns)
        else:
            candidates = plausible_turns(flow, state)
            turn = candidates[data.draw(st.integers(min_value=0, max_value=len(candidates) - 1))]
        pending_analysis(flow, state, turn)
        outcome = advance(flow, state, turn)
        check(flow, outcome)


# ---- free text with embedded values (the extractor port filled) -------------------------------------------

EMBEDDED = [
    ("name", "Maria Lopez"),
    ("name", "李娜"),
    ("phone", "+1 201 555 0123"),
    ("phone", "13800138000"),
    ("phone", "12345"),
    ("email", "lina@example.cn"),
    ("email", "not-an-email"),
    ("datetime", "yesterday 3pm"),
    ("datetime", "两天前"),
    ("datetime", "tomorrow"),
    ("datetime", "2026-11-28"),
    ("order_number", "55-1029"),
    ("amount", "¥199"),
    ("product", "AX-300 dryer"),
    ("product", "phone_x"),
    ("location", "Main Street"),
    ("location", "x"),
]
FILLERS = ["", "hi, ", "我叫", "my dryer broke, call ", "昨天坏了，", "the value is "]


@st.composite
def embedded_turns(draw: st.DrawFn) -> Turn:
    """A free-text message with values in it, and the ExtractedValues an extractor would report."""
    parts: list[str] = []
    values: list[ExtractedValue] = []
    for kind, span in draw(st.lists(st.sampled_from(EMBEDDED), max_size=6)):
        parts.append(draw(st.sampled_from(FILLERS)))
        start = len("".join(parts))
        parts.append(span)
        normalised = draw(st.sampled_from([span, span.upper(), ""]))
        values.append(ExtractedValue(kind, span, normalised or span, start, start + len(span)))
    parts.append(draw(st.sampled_from(FILLERS)))
    return Turn(
        now=NOW,
        text="".join(parts) or draw(st.sampled_from(TEXTS)),
        extracted=tuple(values),
        locale=draw(st.sampled_from([None, "zh-hans", "en-US"])),
        edit=draw(st.booleans()),
        proposals=draw(st.lists(proposals, max_size=2).map(tuple)),
    )


any_turns = st.one_of(turns, embedded_turns(), embedded_turns())


@PROPERTY_SETTINGS
@given(first=any_turns, rest=st.lists(any_turns, max_size=30))
def test_random_turns_with_embedded_values(first: Turn, rest: list[Turn]) -> None:
    run(COMPLAINT, first, rest)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_plausible_conversations_with_embedded_values_reach_valid_states(data: st.DataObject) -> None:
    flow = COMPLAINT
    outcome = start(flow, data.draw(any_turns))
    check(flow, outcome)
    for _ in range(data.draw(st.integers(min_value=10, max_value=40))):
        state = outcome.state
        roll = data.draw(st.integers(min_value=0, max_value=5))
        if roll == 0:
            turn = data.draw(turns)
        elif roll == 1:
            turn = data.draw(embedded_turns())
        else:
            candidates = plausible_turns(flow, state)
            if state.conflict is not None:
                candidates += [Turn(now=NOW, text="1"), Turn(now=NOW, text="2")]
            turn = candidates[data.draw(st.integers(min_value=0, max_value=len(candidates) - 1))]
        pending_analysis(flow, state, turn)
        outcome = advance(flow, state, turn)
        check(flow, outcome)
