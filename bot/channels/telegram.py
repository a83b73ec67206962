"""The Telegram channel: Bot API updates in, `Outbound` messages out, through python-telegram-bot's Bot.

This module only converts: `Outbound` becomes sendMessage with an inline keyboard (updates become `Inbound`
in telegram_updates.py). Replies are never sent from the webhook: the
outbox worker calls `TelegramChannel.deliver()`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.channels.base import (
    Channel,
    PermanentDeliveryError,
    RecipientUnreachable,
    RenderedPart,
    RetryLater,
    read_capped,
)
from bot.errors import PlaintError
from bot.messages import Outbound, OutboundFile

if TYPE_CHECKING:
    # python-telegram-bot is imported where it is used: the console's previews read this module's limits, and
    # a server without Telegram does not pay for the import (a fifth of a second of start-up).
    from telegram import Bot
    from telegram.error import RetryAfter

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
# Telegram's limits: message text length and callback_data size (in UTF-8 bytes).
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
# callback_data of the single "✓ chosen" button left on an answered keyboard: pressing it again does nothing.
ANSWERED_MARKER = "plaint:answered"
# What a bot may upload (Bot API limits): photos up to 10 MB (JPEG, PNG, WebP), any document up to 50 MB. A larger
# file goes as its signed link.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Prefix of callback_data standing in for a button value too long for Telegram; see `callback_data_for`.
DIGEST_PREFIX = "plaint:h:"


class TelegramFileUnavailable(PlaintError):
    """Telegram would not hand out a file (expired, too big for the Bot API, download failed)."""

    def __init__(self, file_id: str, reason: str) -> None:
        super().__init__(f"telegram file {file_id}: {reason}")
        self.file_id = file_id
        self.reason = reason


def bot_api_urls(api_url: str) -> tuple[str, str]:
    """Bot API method and file base URLs for an API root (public, a local Bot API server, or a fake)."""
    root = api_url.rstrip("/")
    return f"{root}/bot", f"{root}/file/bot"


def callback_data_for(value: str) -> str:
    """Telegram allows 1-64 bytes of callback_data. A longer value is replaced by a digest; the pressed
    button is then recognised by its label on the keyboard (see `TelegramUpdateReader`)."""
    if value and len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES and value != ANSWERED_MARKER:
        return value
    return DIGEST_PREFIX + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def retry_after_seconds(error: RetryAfter) -> float:
    from telegram.warnings import PTBDeprecationWarning

    # PTB 22 warns when retry_after is read as a number; both forms are accepted here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel(Channel):
    """Sends rendered parts with sendMessage as plain text: no parse_mode, so nothing a customer or agent
    typed can be read as markup or break the message."""

    name = "telegram"
    max_text_length = MAX_TEXT_LENGTH
    supports_buttons = True

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_file(self, message: Outbound, item: OutboundFile) -> None:
        """sendPhoto for a picture Telegram shows inline, sendDocument for anything else, within the Bot API's
        upload limits; a larger file (or one whose bytes cannot be read) goes as its signed link."""
        photo = item.media_type in PHOTO_TYPES
        content = await read_capped(item, MAX_PHOTO_BYTES if photo else MAX_DOCUMENT_BYTES)
        if content is None:
            await super().send_file(message, item)
            return
        chat_id = int(message.recipient_id)
        with _delivery_errors():
            if photo:
                await self._bot.send_photo(chat_id=chat_id, photo=content, filename=item.name)
            else:
                await self._bot.send_document(chat_id=chat_id, document=content, filename=item.name)

    async def send_part(self, message: Outbound, part: RenderedPart) -> None:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        markup = None
        if part.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(button.label, callback_data=callback_data_for(button.value))]
                    for button in part.buttons
                ]
            )
        with _delivery_errors():
            await self._bot.send_message(chat_id=int(message.recipient_id), text=part.text, reply_markup=markup)


@contextlib.contextmanager
def _delivery_errors() -> Iterator[None]:
    """Bot API errors as the outbox's delivery-error taxonomy."""
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

    try:
        yield
    except RetryAfter as error:
        raise RetryLater(str(error), retry_after_seconds(error)) from error
    except Forbidden as error:
        raise RecipientUnreachable(str(error)) from error
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            raise RecipientUnreachable(str(error)) from error
        raise PermanentDeliveryError(str(error)) from error
    except NetworkError as error:
        # Timeouts, 5xx, connection failures: Telegram may be down for a moment.
        raise RetryLater(str(error)) from error
    except TelegramError as error:
        # A rejected token and the like: an operator must act; the message waits with back-off.
        raise RetryLater(str(error)) from error
