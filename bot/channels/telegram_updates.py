"""Telegram updates as the neutral `Inbound`: message kinds, button presses, edited messages and file
downloads. Conversion only; the delivery side is bot/channels/telegram.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.channels.base import response_chunks
from bot.channels.telegram import ANSWERED_MARKER, DIGEST_PREFIX, TelegramFileUnavailable
from bot.messages import Attachment, AttachmentKind, GeoPoint, Inbound

log = logging.getLogger(__name__)


class TelegramFiles:
    """Downloads files the way the Bot API allows: getFile for a short-lived path, then the file URL,
    streamed in chunks so a 20 MB video never sits in memory whole."""

    def __init__(self, bot: Bot, http: aiohttp.ClientSession) -> None:
        self._bot = bot
        self._http = http

    async def stream(self, file_id: str) -> AsyncIterator[bytes]:
        try:
            telegram_file = await self._bot.get_file(file_id)
        except TelegramError as error:
            raise TelegramFileUnavailable(file_id, str(error)) from error
        if not telegram_file.file_path:
            raise TelegramFileUnavailable(file_id, "no file_path in getFile answer")
        # PTB already prefixed the file base URL (token included) to the relative file_path.
        async with self._http.get(telegram_file.file_path) as response:
            if response.status != 200:
                raise TelegramFileUnavailable(file_id, f"download answered HTTP {response.status}")
            async for chunk in response_chunks(response):
                yield chunk


# Telegram's file-carrying message fields besides photos:
# (field, attachment kind, file name prefix, extension, media type when Telegram does not say).
_FILE_FIELDS: tuple[tuple[str, AttachmentKind, str, str, str | None], ...] = (
    ("video", "video", "video", ".mp4", "video/mp4"),
    ("video_note", "video", "video-note", ".mp4", "video/mp4"),
    ("animation", "video", "animation", ".mp4", "video/mp4"),
    ("document", "document", "document", "", None),
    ("voice", "voice", "voice", ".ogg", "audio/ogg"),
    ("audio", "audio", "audio", "", None),
)


@dataclass(frozen=True)
class PressedButton:
    """A callback query to answer (so the spinner stops) and whose keyboard to mark as answered."""

    query_id: str
    chat_id: int | None
    message_id: int | None
    label: str | None


@dataclass(frozen=True)
class TelegramInput:
    """What one update amounts to: a message for the intake (None when there is nothing to say), and a
    button press to acknowledge."""

    inbound: Inbound | None
    pressed: PressedButton | None = None


class TelegramUpdateReader:
    """Update -> Inbound. Private chats only: a complaint is between one customer and the company."""

    def __init__(self, files: TelegramFiles) -> None:
        self._files = files

    def read(self, update: Update) -> TelegramInput:
        update_id = str(update.update_id)
        if update.callback_query is not None:
            return self._read_callback(update_id, update.callback_query)
        if update.message is not None:
            return TelegramInput(self._read_message(update_id, update.message, edited=False))
        if update.edited_message is not None:
            return TelegramInput(self._read_message(update_id, update.edited_message, edited=True))
        return TelegramInput(None)

    def _read_message(self, update_id: str, message: Message, *, edited: bool) -> Inbound | None:
        user = message.from_user
        if message.chat.type != ChatType.PRIVATE or user is None or user.is_bot:
            return None
        location = None
        if message.venue is not None:
            venue = message.venue
            label = ", ".join(part for part in (venue.title, venue.address) if part)
            location = GeoPoint(venue.location.latitude, venue.location.longitude, label or None)
        elif message.location is not None:
            location = GeoPoint(message.location.latitude, message.location.longitude)
        attachments = self._attachments(message)
        text = _command_without_bot_name(message)
        if text is None and not attachments and location is None:
            return None  # stickers, polls, service messages: nothing the intake can use
        sent_at = (message.edit_date if edited else None) or message.date
        return Inbound(
            channel="telegram",
            sender_id=str(message.chat.id),
            # The update_id, not the message_id: an edit is a new update of the same message, and a
            # redelivered update must have exactly one effect.
            message_id=update_id,
            received_at=sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC),
            text=text,
            attachments=attachments,
            location=location,
            locale=user.language_code,
            display_name=user.full_name,
            edits_message_id=str(message.message_id) if edited else None,
        )

    def _attachments(self, message: Message) -> tuple[Attachment, ...]:
        found: list[Attachment] = []
        if message.photo:
            largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
            found.append(
                self._attachment(
                    "photo", largest.file_id, f"photo-{largest.file_unique_id}.jpg", "image/jpeg", largest.file_size
                )
            )
        for field, kind, prefix, extension, default_media_type in _FILE_FIELDS:
            item = getattr(message, field)
            # An animation also fills `document` for old clients: one file, not two.
            if item is None or (field == "document" and message.animation is not None):
                continue
            found.append(
                self._attachment(
                    kind,
                    item.file_id,
                    getattr(item, "file_name", None) or f"{prefix}-{item.file_unique_id}{extension}",
                    getattr(item, "mime_type", None) or default_media_type,
                    item.file_size,
                )
            )
        return tuple(found)

    def _attachment(
        self, kind: AttachmentKind, file_id: str, file_name: str, media_type: str | None, size: int | None
    ) -> Attachment:
        return Attachment(
            kind=kind,
            open_stream=lambda: self._files.stream(file_id),
            file_name=file_name,
            declared_media_type=media_type,
            declared_size=size,
            platform_file_id=file_id,
        )

    def _read_callback(self, update_id: str, query: CallbackQuery) -> TelegramInput:
        message = query.message
        # An inaccessible message (older than 48 hours) still tells the chat but not the keyboard.
        chat_id = message.chat.id if message is not None else query.from_user.id
        keyboard = message.reply_markup if isinstance(message, Message) else None
        data = query.data or ""
        label = _label_for(keyboard, data)
        if data == ANSWERED_MARKER:
            # Only the spinner to stop: the keyboard is already marked.
            return TelegramInput(None, PressedButton(query.id, None, None, None))
        pressed = PressedButton(
            query_id=query.id,
            chat_id=chat_id if isinstance(message, Message) else None,
            message_id=message.message_id if isinstance(message, Message) else None,
            label=label,
        )
        if not data:
            return TelegramInput(None, pressed)
        if message is not None and message.chat.type != ChatType.PRIVATE:
            return TelegramInput(None, pressed)
        choice: str | None = data
        text: str | None = None
        if data.startswith(DIGEST_PREFIX):
            # The value did not fit in callback_data: answer with the button's label, as if typed.
            choice, text = None, label
            if text is None:
                return TelegramInput(None, pressed)
        inbound = Inbound(
            channel="telegram",
            sender_id=str(chat_id),
            message_id=update_id,
            received_at=datetime.now(UTC),
            text=text,
            choice=choice,
            locale=query.from_user.language_code,
            display_name=query.from_user.full_name,
        )
        return TelegramInput(inbound, pressed)


def _label_for(keyboard: InlineKeyboardMarkup | None, data: str) -> str | None:
    if keyboard is None:
        return None
    for row in keyboard.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def _command_without_bot_name(message: Message) -> str | None:
    """'/start@plaint_bot more' -> '/start more': the @name only says which bot a command is for."""
    text = message.text or message.caption
    if text is None:
        return None
    entities: Sequence[MessageEntity] = message.entities or message.caption_entities
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            command = text[: entity.length]
            return command.split("@", 1)[0] + text[entity.length :]
    return text


async def answer_press(bot: Bot, pressed: PressedButton) -> None:
    """Stop the client's spinner. Best effort: the press itself is handled either way."""
    try:
        await bot.answer_callback_query(pressed.query_id)
    except TelegramError as error:
        log.info("telegram: answerCallbackQuery failed: %s", error)


async def mark_answered(bot: Bot, pressed: PressedButton) -> None:
    """Leave only a '✓ chosen' button under the question, so an old question is not answered twice by
    accident. Best effort: a failure here only affects the display."""
    if pressed.chat_id is None or pressed.message_id is None or pressed.label is None:
        return
    marked = InlineKeyboardMarkup([[InlineKeyboardButton(f"✓ {pressed.label}", callback_data=ANSWERED_MARKER)]])
    try:
        await bot.edit_message_reply_markup(chat_id=pressed.chat_id, message_id=pressed.message_id, reply_markup=marked)
    except TelegramError as error:
        log.info("telegram: editMessageReplyMarkup failed: %s", error)
