"""What a customer is told about a follow-up: every refused file by name and reason, in their language, and one
acknowledgement offering a new complaint."""

from __future__ import annotations

from bot.lifecycle.follow_ups import MAX_RELAYED_CHARS, added_to_case, refused_file_notes, relayed_text
from flows import FileLimits, RejectedFile, default_flow_path, load_flow

FLOW = load_flow(default_flow_path())
LIMITS = FileLimits(max_bytes=20 * 1024 * 1024, allowed_kinds=frozenset({"photo", "video", "document"}), max_files=5)
REFUSED = (
    RejectedFile("big.mp4", "too_large", 20 * 1024 * 1024),
    RejectedFile("song.mp3", "type"),
    RejectedFile("sixth.jpg", "too_many"),
    RejectedFile("lost.jpg", "unavailable"),
    RejectedFile("early.pdf", "not_expected"),
)


def test_every_refused_file_is_named_with_its_reason_in_english() -> None:
    assert [reply.text for reply in refused_file_notes(FLOW, REFUSED, "en", LIMITS)] == [
        "big.mp4 is too large (limit 20 MB per file).",
        "I can't accept song.mp3: allowed are documents, photos, videos.",
        "I can take at most 5 files, so I couldn't keep sixth.jpg.",
        "I couldn't fetch lost.jpg from the chat app. Please send it again.",
        "I'm not collecting files right now, so I couldn't keep early.pdf. You can send evidence a little later.",
    ]


def test_and_in_chinese() -> None:
    texts = [reply.text for reply in refused_file_notes(FLOW, REFUSED, "zh", LIMITS)]
    assert texts[0] == "big.mp4 太大了（每个文件不能超过 20 MB）。"
    assert texts[1] == "无法接收 song.mp3：只接受文档、照片、视频。"
    assert all(name in text for name, text in zip(("sixth.jpg", "lost.jpg", "early.pdf"), texts[2:], strict=True))


def test_the_acknowledgement_offers_a_new_complaint_in_the_case_language() -> None:
    reply = added_to_case(FLOW, "已补充到你的投诉 PL-ABC234。", "zh")
    assert [(choice.value, choice.label, choice.role) for choice in reply.choices] == [
        ("_new", "新投诉", "new_complaint")
    ]


def test_long_words_are_cut_for_the_thread_only_past_what_slack_shows() -> None:
    assert relayed_text("short") == "short"
    cut = relayed_text("x" * (MAX_RELAYED_CHARS + 10))
    assert len(cut) == MAX_RELAYED_CHARS + 1 and cut.endswith("…")
