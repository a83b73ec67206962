"""One concise line in the case thread per desk event (who acknowledged, took over, reclassified, resolved,
reopened), in the team's language. Pure: the notifier posts what these return."""

from __future__ import annotations

from bot.desk.events import CaseChanged, CaseMoved, DeliveryFailed
from bot.desk.vocabulary import DeskVocabulary, desk_says, resolution_label


def _person(user_id: str) -> str:
    # Slack user ids become mentions; the system actor ("plaint") or a console user stays a word.
    return f"<@{user_id}>" if user_id[:1] in {"U", "W"} and user_id.isalnum() else user_id or "?"


def thread_line(event: CaseChanged, lang: str, vocabulary: DeskVocabulary) -> str | None:
    """None for a re-render without an action (or one that needs no line)."""
    actor = _person(event.actor)
    action = event.action
    if action in {"acknowledge", "close"}:
        return desk_says(f"line_{action}", lang, actor=actor)
    if action == "reopen":
        key = "line_reopen_on_reply" if event.detail("by") == "reply" else "line_reopen"
        return desk_says(key, lang, actor=actor)
    if action == "assigned":
        return desk_says("line_round_robin", lang, assignee=_person(event.detail("assignee")))
    if action == "assign":
        assignee, previous = event.detail("assignee"), event.detail("previous")
        if previous and previous != assignee:
            # The previous assignee is mentioned: Slack notifies them that the case left their hands.
            key = (
                "line_takeover" if event.actor == assignee
                else "line_handoff" if event.actor == previous
                else "line_reassign"
            )
            return desk_says(key, lang, previous=_person(previous), actor=actor, assignee=_person(assignee))
        return desk_says("line_assign", lang, actor=actor, assignee=_person(assignee))
    if action == "reclassify":
        parts = [
            label
            for label in (vocabulary.product(event.detail("product"), lang),
                          vocabulary.category(event.detail("category"), lang))
            if label
        ]
        return desk_says("line_reclassify", lang, actor=actor, what=" / ".join(parts) or "-")
    if action == "moved":
        return desk_says("line_moved_in", lang, actor=actor, team=event.detail("from") or "-")
    if action == "resolve":
        return desk_says("line_resolve", lang, actor=actor, code=resolution_label(event.detail("code"), lang))
    return None


def delivery_failed_line(event: DeliveryFailed, lang: str) -> str:
    reason = desk_says("reason_unreachable" if event.reason == "unreachable" else "reason_refused", lang)
    return desk_says("delivery_failed", lang, actor=_person(event.actor) if event.actor else "", reason=reason)


def moved_line(event: CaseMoved, lang: str) -> str:
    """The old thread's last line: who moved the case where; the previous assignee is mentioned (Slack tells
    them)."""
    previous = ""
    if event.previous_assignee:
        previous = desk_says("moved_previous", lang, previous=_person(event.previous_assignee))
    return desk_says("line_moved_out", lang, actor=_person(event.actor), team=event.to_team, previous=previous)
