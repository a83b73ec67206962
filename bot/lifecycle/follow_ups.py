"""Follow-ups after filing: what the customer is told when their message joins an open case, and why a file they
sent with it was not kept (too large, not a kind the case takes, too many, or the platform would not hand it
over). Nothing a customer sends is dropped without a word, in their language."""

from __future__ import annotations

from collections.abc import Sequence

from flows import FileLimits, Flow, Lang, RejectedFile, Reply
from flows.commands import NEW_COMPLAINT, button
from flows.step_kinds import format_size

# Relayed into the case's Slack thread at most this long (Slack shows about 4,000 characters of a message);
# the transcript keeps the whole message.
MAX_RELAYED_CHARS = 3500


def _lang(lang: str) -> Lang:
    return "zh" if lang == "zh" else "en"


def refused_file_notes(
    flow: Flow, rejected: Sequence[RejectedFile], lang: str, limits: FileLimits | None
) -> list[Reply]:
    """One line per refused file, worded as the evidence question words it."""
    said = _lang(lang)
    notes: list[Reply] = []
    for item in rejected:
        if item.reason == "too_large":
            size = format_size(item.limit_bytes or (limits.max_bytes if limits else 0))
            text = flow.message("file_too_large", said).format(name=item.file_name, limit=size)
        elif item.reason == "type" and limits is not None:
            kinds = flow.message("kinds_separator", said).join(
                flow.message(f"kind_{kind}", said) for kind in sorted(limits.allowed_kinds)
            )
            text = flow.message("file_type", said).format(name=item.file_name, kinds=kinds)
        elif item.reason == "too_many" and limits is not None:
            text = flow.message("file_too_many", said).format(name=item.file_name, max=limits.max_files)
        elif item.reason == "unavailable":
            text = flow.message("file_unavailable", said).format(name=item.file_name)
        else:
            text = flow.message("file_not_expected", said).format(name=item.file_name)
        notes.append(Reply(text))
    return notes


def added_to_case(flow: Flow, text: str, lang: str) -> Reply:
    """The one acknowledgement of a follow-up, with the way out to a new complaint (a numbered option where a
    platform has no buttons)."""
    return Reply(text, (button(NEW_COMPLAINT, flow.message("button_new_complaint", _lang(lang))),))


def relayed_text(text: str) -> str:
    """The customer's words as the case thread gets them: whole, up to what Slack shows."""
    return text if len(text) <= MAX_RELAYED_CHARS else text[:MAX_RELAYED_CHARS] + "…"
