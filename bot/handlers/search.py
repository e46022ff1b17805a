"""/search, a keyword typed in a private chat, result pages, and inline mode.

A result page's buttons carry ``sp:<saved search id>:<page>``: the query text
stays in the database, so paging works after a restart, and a button is
honoured only in the chat whose search it is.
"""

from __future__ import annotations

import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.handlers.common import NO_PREVIEW, chat_language, reply, row_id, show_in_button_message
from bot.i18n import text
from bot.render import hit_html, safe_href
from bot.services import offload, services
from digests.search.service import SearchPage

PAGE_BUTTON = re.compile(r"^sp:(\d{1,12}):(\d{1,3})$")
INLINE_RESULTS = 10


def page_html(found: SearchPage, language: str) -> str:
    if not found.results.hits:
        return text(language, "search_none", query=found.text[:100])
    lines = [
        text(
            language,
            "search_header",
            query=found.text[:100],
            total=found.total_label,
            page=found.page + 1,
            pages=found.pages_label,
        )
    ]
    if found.results.fallback:
        lines[0] += " " + text(language, "search_fallback")
    if found.query.problems:
        lines.append(text(language, "search_ignored", what=", ".join(found.query.problems)))
    first = found.page * found.per_page + 1
    for number, hit in enumerate(found.results.hits, start=first):
        lines.append(f"{number}. {hit_html(hit, found.results.needles)}")
    return "\n\n".join(lines)


def page_keyboard(search_id: int, found: SearchPage, language: str) -> InlineKeyboardMarkup | None:
    buttons = []
    if found.page > 0:
        buttons.append(
            InlineKeyboardButton(
                text(language, "previous"), callback_data=f"sp:{search_id}:{found.page - 1}"
            )
        )
    if found.page + 1 < found.pages:
        buttons.append(
            InlineKeyboardButton(
                text(language, "next"), callback_data=f"sp:{search_id}:{found.page + 1}"
            )
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, query: str) -> None:
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    if not query.strip():
        await reply(update, text(language, "search_usage"))
        return
    found = await offload(app.engine.search, query)
    if found.problem is not None:
        await reply(update, text(language, f"search_{found.problem}"))
        return
    keyboard = None
    if found.pages > 1:
        saved = await offload(app.engine.save_search, chat.id, query)
        keyboard = page_keyboard(saved, found, language)
    await message.reply_text(
        page_html(found, language),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=keyboard,
    )


async def search_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _answer(update, context, " ".join(context.args or []))


async def search_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything typed in a private chat that is not a command is a search."""
    message = update.effective_message
    if message is not None and message.text:
        await _answer(update, context, message.text)


async def page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    button, chat = update.callback_query, update.effective_chat
    if button is None or chat is None:
        return
    app = services(context)
    _subscriber, language = await chat_language(update, app)
    match = PAGE_BUTTON.match(button.data or "")
    search_id = row_id(match.group(1)) if match is not None else None
    saved = None
    if search_id is not None:
        saved = await offload(app.engine.saved_search, search_id, chat.id)
    if match is None or search_id is None or saved is None:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    found = await offload(app.engine.search, saved, page=int(match.group(2)))
    if found.problem is not None or not found.results.hits:
        await button.answer(text(language, "button_stale"), show_alert=True)
        return
    await button.answer()
    await show_in_button_message(
        button, page_html(found, language), page_keyboard(search_id, found, language)
    )


async def inline_search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@bot words`` in any chat: the best articles, each ready to share."""
    inline = update.inline_query
    if inline is None:
        return
    app = services(context)
    found = await offload(app.engine.search, inline.query, per_page=INLINE_RESULTS)
    results = []
    if found.problem is None:
        for hit in found.results.hits:
            content = hit_html(hit, found.results.needles, snippet_width=160)
            results.append(
                InlineQueryResultArticle(
                    id=str(hit.article_id),
                    title=hit.title[:200],
                    description=f"{hit.source} · {hit.when:%Y-%m-%d}",
                    input_message_content=InputTextMessageContent(
                        content, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                    ),
                    url=hit.link if safe_href(hit.link) else None,
                )
            )
    await inline.answer(results, cache_time=60, is_personal=False)
