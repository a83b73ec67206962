"""The part of a Telegram Update that Plaint reads, as a typed model with a limit on every string, number and
list. The webhook validates the body against it before python-telegram-bot sees anything, and hands PTB only
the validated fields: a value of the wrong type, a 40-digit id, a date past year 9999 or a NUL character
never reaches the reader or the database. Field names and sizes as in the Bot API documentation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.channels.base import MAX_INBOUND_TEXT_CHARS, StorableStr

# Identifiers fit in 52 bits (the Bot API promises it for user and chat ids); dates are Unix seconds before
# the year 10000, which Python's datetime cannot go past.
TelegramId = Annotated[int, Field(ge=-(2**52), le=2**52)]
PositiveId = Annotated[int, Field(ge=0, le=2**52)]
UnixTime = Annotated[int, Field(ge=0, le=253402300799)]
Count = Annotated[int, Field(ge=0, le=2**31)]
FileSize = Annotated[int, Field(ge=0, le=2**42)]


def _text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class _Part(BaseModel):
    # Strict JSON types; fields Plaint does not read are dropped (PTB is never given them).
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class TelegramUser(_Part):
    id: PositiveId
    is_bot: bool
    first_name: Annotated[StorableStr, Field(max_length=256)]
    last_name: StorableStr | None = _text(256)
    username: StorableStr | None = _text(64)
    language_code: StorableStr | None = _text(35)


class TelegramChat(_Part):
    id: TelegramId
    type: Annotated[str, Field(max_length=32)]
    title: StorableStr | None = _text(256)
    first_name: StorableStr | None = _text(256)


class TelegramEntity(_Part):
    type: Annotated[str, Field(max_length=32)]
    offset: Count
    length: Count


class TelegramPhotoSize(_Part):
    file_id: Annotated[StorableStr, Field(max_length=256)]
    file_unique_id: Annotated[StorableStr, Field(max_length=128)]
    width: Count
    height: Count
    file_size: FileSize | None = None


class TelegramFile(_Part):
    """Video, video note, animation, document, voice and audio: what the reader uses of each (plus the sizes
    and durations PTB requires to build the object)."""

    file_id: Annotated[StorableStr, Field(max_length=256)]
    file_unique_id: Annotated[StorableStr, Field(max_length=128)]
    file_name: StorableStr | None = _text(255)
    mime_type: StorableStr | None = _text(127)
    file_size: FileSize | None = None
    width: Count | None = None
    height: Count | None = None
    duration: Count | None = None
    length: Count | None = None


class TelegramLocation(_Part):
    latitude: Annotated[float, Field(ge=-90, le=90, strict=False)]
    longitude: Annotated[float, Field(ge=-180, le=180, strict=False)]


class TelegramVenue(_Part):
    location: TelegramLocation
    title: Annotated[StorableStr, Field(max_length=256)]
    address: Annotated[StorableStr, Field(max_length=512)]


class TelegramButton(_Part):
    text: Annotated[StorableStr, Field(max_length=256)]
    callback_data: StorableStr | None = _text(64)


class TelegramKeyboard(_Part):
    inline_keyboard: Annotated[list[Annotated[list[TelegramButton], Field(max_length=12)]], Field(max_length=100)]


class TelegramMessage(_Part):
    message_id: PositiveId
    from_user: TelegramUser | None = Field(default=None, alias="from")
    chat: TelegramChat
    date: UnixTime
    edit_date: UnixTime | None = None
    text: StorableStr | None = _text(MAX_INBOUND_TEXT_CHARS)
    caption: StorableStr | None = _text(MAX_INBOUND_TEXT_CHARS)
    entities: Annotated[list[TelegramEntity], Field(max_length=200)] | None = None
    caption_entities: Annotated[list[TelegramEntity], Field(max_length=200)] | None = None
    photo: Annotated[list[TelegramPhotoSize], Field(max_length=20)] | None = None
    video: TelegramFile | None = None
    video_note: TelegramFile | None = None
    animation: TelegramFile | None = None
    document: TelegramFile | None = None
    voice: TelegramFile | None = None
    audio: TelegramFile | None = None
    location: TelegramLocation | None = None
    venue: TelegramVenue | None = None
    media_group_id: StorableStr | None = _text(64)
    reply_markup: TelegramKeyboard | None = None


class TelegramCallbackQuery(_Part):
    id: Annotated[StorableStr, Field(max_length=64)]
    from_user: TelegramUser = Field(alias="from")
    # A message older than 48 hours arrives "inaccessible": chat, message_id and date 0 only.
    message: TelegramMessage | None = None
    chat_instance: Annotated[StorableStr, Field(max_length=64)]
    data: StorableStr | None = _text(64)


class TelegramUpdate(_Part):
    update_id: PositiveId
    message: TelegramMessage | None = None
    edited_message: TelegramMessage | None = None
    callback_query: TelegramCallbackQuery | None = None

    def for_ptb(self) -> dict[str, Any]:
        """The validated update as the JSON PTB's `Update.de_json` reads (Bot API field names)."""
        return self.model_dump(by_alias=True, exclude_none=True)
