"""Real-shaped Telegram Update JSON, as the Bot API posts it to a webhook (field names as in its docs)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

JSON = dict[str, object]


@dataclass
class TelegramCustomer:
    """One customer in a private chat with the bot; numbers every update and message it produces."""

    user_id: int
    first_name: str
    language_code: str
    last_name: str | None = None
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500_000_001))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def user(self) -> JSON:
        user: JSON = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.last_name:
            user["last_name"] = self.last_name
        return user

    def chat(self) -> JSON:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}

    def _message(self, **content: object) -> JSON:
        return {
            "message_id": next(self._message_ids),
            "from": self.user(),
            "chat": self.chat(),
            "date": int(time.time()),
            **content,
        }

    def _update(self, key: str, message: JSON) -> JSON:
        return {"update_id": self.next_update_id(), key: message}

    def text(self, text: str) -> JSON:
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(" ", 1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._update("message", self._message(**content))

    def edit(self, original: JSON, new_text: str) -> JSON:
        message = dict(original["message"])  # type: ignore[call-overload]
        message["text"] = new_text
        message["edit_date"] = int(time.time())
        return self._update("edited_message", message)

    def photo(self, file_id: str, size: int, *, caption: str | None = None, media_group_id: str | None = None) -> JSON:
        # Telegram sends every resolution it made, smallest first; only the largest is the evidence.
        sizes = [
            {
                "file_id": f"{file_id}-thumb",
                "file_unique_id": f"{file_id}-t",
                "width": 90,
                "height": 67,
                "file_size": 1200,
            },
            {
                "file_id": f"{file_id}-medium",
                "file_unique_id": f"{file_id}-m",
                "width": 320,
                "height": 240,
                "file_size": 9000,
            },
            {
                "file_id": file_id,
                "file_unique_id": f"{file_id}-x",
                "width": 1280,
                "height": 960,
                "file_size": size,
            },
        ]
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._update("message", self._message(**content))

    def album(self, media_group_id: str, photos: list[tuple[str, int]], caption: str | None = None) -> list[JSON]:
        """An album is one update per photo sharing a media_group_id; the caption rides on the first."""
        return [
            self.photo(file_id, size, caption=caption if index == 0 else None, media_group_id=media_group_id)
            for index, (file_id, size) in enumerate(photos)
        ]

    def document(self, file_id: str, file_name: str, mime_type: str, size: int) -> JSON:
        return self._update(
            "message",
            self._message(
                document={
                    "file_id": file_id,
                    "file_unique_id": f"{file_id}-u",
                    "file_name": file_name,
                    "mime_type": mime_type,
                    "file_size": size,
                }
            ),
        )

    def video(self, file_id: str, size: int, *, file_name: str = "clip.mp4") -> JSON:
        return self._update(
            "message",
            self._message(
                video={
                    "file_id": file_id,
                    "file_unique_id": f"{file_id}-u",
                    "width": 1920,
                    "height": 1080,
                    "duration": 95,
                    "file_name": file_name,
                    "mime_type": "video/mp4",
                    "file_size": size,
                }
            ),
        )

    def voice(self, file_id: str, size: int) -> JSON:
        return self._update(
            "message",
            self._message(
                voice={
                    "file_id": file_id,
                    "file_unique_id": f"{file_id}-u",
                    "duration": 4,
                    "mime_type": "audio/ogg",
                    "file_size": size,
                }
            ),
        )

    def location(self, latitude: float, longitude: float) -> JSON:
        return self._update("message", self._message(location={"latitude": latitude, "longitude": longitude}))

    def venue(self, latitude: float, longitude: float, title: str, address: str) -> JSON:
        location = {"latitude": latitude, "longitude": longitude}
        return self._update(
            "message",
            self._message(location=location, venue={"location": location, "title": title, "address": address}),
        )

    def press(self, bot_message: JSON, callback_data: str) -> JSON:
        """A tap on an inline keyboard button of a message the bot sent (as sendMessage answered it)."""
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": f"cbq-{self.user_id}-{time.monotonic_ns()}",
                "from": self.user(),
                "message": bot_message,
                "chat_instance": f"ci-{self.user_id}",
                "data": callback_data,
            },
        }
