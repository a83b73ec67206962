"""Plaint's pure conversation domain: flow definitions (YAML -> pydantic) and the engine.

Imports nothing of ours and does no I/O except reading a YAML file in ``load_flow``.
"""

from pathlib import Path

from flows.conversation import (
    Answer,
    CaseDraft,
    Choice,
    ChoiceRole,
    Conflict,
    ConversationEnded,
    ConversationState,
    ConversationStatus,
    Effect,
    ExtractedValue,
    ExtractKind,
    FileCase,
    FileInfo,
    FileLimits,
    Location,
    Outcome,
    Proposal,
    RejectedFile,
    Reply,
    ShowStatus,
    Turn,
    media_kind,
)
from flows.definition import (
    Branch,
    ChoiceStep,
    Condition,
    ConfirmStep,
    DatetimeStep,
    EmailStep,
    EndStep,
    FilesStep,
    Flow,
    LocalizedText,
    Option,
    PhoneStep,
    ProposalStep,
    Step,
    TextStep,
    flow_json_schema,
    load_flow,
    load_flow_text,
)
from flows.engine import advance, build_draft, early_file_limits, file_limits, pending_analysis, start
from flows.errors import ConversationStateError, FlowDefinitionError, FlowError
from flows.language import Lang, detect_language, language_from_locale
from flows.step_kinds import format_when

__all__ = [
    "Answer",
    "Branch",
    "CaseDraft",
    "Choice",
    "ChoiceRole",
    "ChoiceStep",
    "Condition",
    "ConfirmStep",
    "Conflict",
    "ConversationEnded",
    "ConversationState",
    "ConversationStateError",
    "ConversationStatus",
    "DatetimeStep",
    "Effect",
    "EmailStep",
    "EndStep",
    "ExtractKind",
    "ExtractedValue",
    "FileCase",
    "FileInfo",
    "FileLimits",
    "FilesStep",
    "Flow",
    "FlowDefinitionError",
    "FlowError",
    "Lang",
    "LocalizedText",
    "Location",
    "Option",
    "Outcome",
    "PhoneStep",
    "Proposal",
    "ProposalStep",
    "RejectedFile",
    "Reply",
    "ShowStatus",
    "Step",
    "TextStep",
    "Turn",
    "advance",
    "build_draft",
    "default_flow_path",
    "detect_language",
    "early_file_limits",
    "file_limits",
    "flow_json_schema",
    "format_when",
    "language_from_locale",
    "load_flow",
    "load_flow_text",
    "media_kind",
    "pending_analysis",
    "start",
]


def default_flow_path() -> Path:
    """Where the shipped default complaint flow lives (flows/definitions/complaint.yaml)."""
    return Path(__file__).resolve().parent / "definitions" / "complaint.yaml"
