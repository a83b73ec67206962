"""`/plaint` for agents: `case NUMBER`, `mine`, `open`. Answers are short mrkdwn texts shown only to the
agent who asked."""

from __future__ import annotations

from bot.desk.blocks import case_line, escape_mrkdwn
from bot.desk.service import DeskService

USAGE = "Usage: `/plaint case NUMBER` · `/plaint mine` · `/plaint open`"


async def answer_plaint_command(desk: DeskService, text: str, user_id: str) -> str:
    words = text.split()
    if not words:
        return USAGE
    verb = words[0].lower()
    if verb == "case" and len(words) == 2:
        case = await desk.get_case(words[1])
        if case is None:
            return f"No case {escape_mrkdwn(words[1])}."
        lines = [case_line(case), f">{escape_mrkdwn((case.description or '-')[:300])}"]
        if case.slack_channel and case.slack_ts:
            lines.append(f"Thread: <#{case.slack_channel}> ({case.slack_ts})")
        return "\n".join(lines)
    if verb == "mine" and len(words) == 1:
        cases = await desk.open_cases(assignee=user_id)
        if not cases:
            return "You have no open cases."
        return "Your open cases:\n" + "\n".join(case_line(case) for case in cases)
    if verb == "open" and len(words) == 1:
        cases = await desk.open_cases()
        if not cases:
            return "No open cases."
        return f"Open cases ({len(cases)} most recent):\n" + "\n".join(case_line(case) for case in cases)
    return USAGE
