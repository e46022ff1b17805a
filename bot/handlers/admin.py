"""Admin commands for the configured operators (``bot.admin_ids``), in private chats.

Everyone else gets a polite no. Each command is a thin layer over the same
engine calls the command line uses (``digests.editions.reports``, the stores).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.handlers.common import chat_language, reply
from bot.handlers.preferences import choose_sources
from bot.i18n import text
from bot.render import render_html
from bot.services import BotServices, offload, services
from digests.config import format_duration
from digests.editions.build import BuiltEdition
from digests.editions.schedule import Slot, upcoming_slot
from digests.errors import NewsdigestError
from digests.store.schedules import ScheduleState, split_times
from digests.store.sources import SourceRow

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
AdminHandler = Callable[
    [Update, ContextTypes.DEFAULT_TYPE, BotServices, str], Coroutine[Any, Any, None]
]


def is_admin(update: Update, app: BotServices) -> bool:
    user = update.effective_user
    return user is not None and user.id in app.settings.bot.admin_ids


def admin_command(handler: AdminHandler) -> Handler:
    """Only for admins, only in a private chat; the engine's errors are a reply."""

    @wraps(handler)
    async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        app = services(context)
        _subscriber, language = await chat_language(update, app)
        if not is_admin(update, app):
            await reply(update, text(language, "admin_only"))
            return
        chat = update.effective_chat
        if chat is None or chat.type != Chat.PRIVATE:
            await reply(update, text(language, "admin_private"))
            return
        try:
            await handler(update, context, app, language)
        except NewsdigestError as exc:  # bad input, a refused address: say why
            await reply(update, text(language, "admin_failed", reason=str(exc)))

    return checked


def _rest(context: ContextTypes.DEFAULT_TYPE) -> str:
    """The command's words after its name, as one string."""
    return " ".join(context.args or []).strip()


def _edition_values(state: ScheduleState, slot: Slot, built: BuiltEdition) -> dict[str, object]:
    return {
        "schedule": state.name,
        "date": slot.edition_date.isoformat(),
        "slot": slot.slot,
        "items": len(built.digest.items),
    }


def _argument(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


def _local(moment: datetime | None, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}" if moment else "-"


@admin_command
async def admin_help(
    update: Update, _context: ContextTypes.DEFAULT_TYPE, _app: BotServices, language: str
) -> None:
    await reply(update, text(language, "admin_help"))


@admin_command
async def add_source_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    words = _argument(context)
    if not words:
        await reply(update, text(language, "addsource_usage"))
        return
    source = await offload(
        app.engine.add_source, words[0], name=" ".join(words[1:]) or None, folders=False
    )
    await reply(
        update,
        text(
            language,
            "source_added",
            id=source.id,
            name=source.name,
            every=format_duration(source.interval_seconds),
        ),
    )


@admin_command
async def remove_source_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    reference = _rest(context)
    if not reference:
        await reply(update, text(language, "removesource_usage"))
        return
    source = await offload(app.engine.remove_source, reference)
    await reply(update, text(language, "source_removed", id=source.id, name=source.name))


@admin_command
async def enable_source_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    reference = _rest(context)
    if not reference:
        await reply(update, text(language, "enablesource_usage"))
        return
    source, was_paused = await offload(app.engine.enable_source, reference)
    if was_paused is None:
        await reply(update, text(language, "source_not_paused", id=source.id, name=source.name))
        return
    await reply(
        update,
        text(language, "source_enabled", id=source.id, name=source.name, reason=was_paused),
    )


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: admins (in private) first see every source's state; then, like
    every subscriber, the keyboard to choose their own."""
    app = services(context)
    chat = update.effective_chat
    if is_admin(update, app) and chat is not None and chat.type == Chat.PRIVATE:
        subscriber, language = await chat_language(update, app)
        rows = await offload(app.engine.sources)
        await reply(update, source_states(rows, app.settings.digest.timezone, language))
        if subscriber is None or not subscriber.active:
            return
    await choose_sources(update, context)


def source_states(rows: list[SourceRow], zone: str, language: str) -> str:
    lines = [text(language, "sources_admin_title")]
    if not rows:
        lines.append(text(language, "sources_none"))
    for row in rows:
        if row.paused:
            state = text(language, "source_paused")
        elif row.last_error:
            state = text(language, "source_failing")
        elif row.last_checked_at is None:
            state = text(language, "source_waiting")
        else:
            state = text(language, "source_ok")
        lines.append(
            text(
                language,
                "source_line",
                id=row.id,
                name=row.name,
                state=state,
                articles=row.articles,
                checked=_local(row.last_checked_at, zone),
            )
        )
        if row.paused:
            since = _local(row.disabled_at, zone)
            reason = (row.disabled_reason or "")[:200]
            lines.append(text(language, "source_paused_why", since=since, reason=reason))
        elif row.last_error:
            lines.append(
                text(language, "source_error", count=row.error_count, error=row.last_error[:200])
            )
    return "\n".join(lines)


@admin_command
async def preview_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    state, slot, built = await offload(app.engine.preview_next_edition, _rest(context) or None)
    if built.digest.empty:
        await reply(update, text(language, "preview_empty", schedule=state.name))
        return
    await reply(update, text(language, "preview_header", **_edition_values(state, slot, built)))
    for part in render_html(
        built.digest,
        language=language,
        title=app.settings.digest.title_for(language),
        tz=ZoneInfo(state.spec.timezone),
    ):
        await reply(update, part)


@admin_command
async def send_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    state, slot, built = await offload(app.engine.release_next_edition, _rest(context) or None)
    values = _edition_values(state, slot, built)
    if built.created:
        stats = await offload(app.engine.subscriber_stats)
        count = stats.by_schedule.get(state.name, 0)
        await reply(update, text(language, "sent_now", subscribers=count, **values))
    else:
        await reply(update, text(language, "sent_already", **values))
    app.wake_delivery()


@admin_command
async def stats_command(
    update: Update, _context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    stats = await offload(app.engine.subscriber_stats)
    report = await offload(app.engine.last_delivery_report)
    lines = [
        text(
            language,
            "stats",
            active=stats.active,
            blocked=stats.blocked,
            stopped=stats.stopped,
        )
    ]
    if report is None:
        lines.append(text(language, "stats_no_edition"))
    else:
        seconds = report.duration_seconds
        lines.append(
            text(
                language,
                "stats_edition",
                id=report.edition_id,
                schedule=report.schedule,
                date=report.edition_date,
                slot=report.slot or "-",
                sent=report.count("sent"),
                failed=report.count("failed"),
                pending=report.count("pending") + report.count("sending"),
                unknown=report.count("unknown"),
                skipped=report.count("skipped"),
                duration=format_duration(max(1, round(seconds))) if seconds is not None else "-",
            )
        )
        if report.count("withheld"):
            lines.append(text(language, "stats_withheld", withheld=report.count("withheld")))
    await reply(update, "\n".join(lines))


def _schedule_line(state: ScheduleState, app: BotServices, language: str) -> str:
    upcoming = upcoming_slot(state, app.engine.clock())
    status = (
        text(language, "schedule_paused")
        if upcoming is None
        else text(language, "schedule_next", next=_local(upcoming.fire_at, state.spec.timezone))
    )
    return text(
        language,
        "schedule_line",
        name=state.name,
        times=", ".join(state.spec.times),
        zone=state.spec.timezone,
        state=status,
    )


@admin_command
async def schedules_command(
    update: Update, _context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    lines = [text(language, "schedules_title")]
    states = await offload(app.engine.schedule_states)
    lines += [_schedule_line(state, app, language) for state in states]
    await reply(update, "\n".join(lines))


def _next_run(state: ScheduleState, app: BotServices) -> str:
    upcoming = upcoming_slot(state, app.engine.clock())
    return _local(upcoming.fire_at if upcoming else None, state.spec.timezone)


@admin_command
async def schedule_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    """/schedule NAME TIMES [ZONE] · /schedule add NAME TIMES [ZONE] · /schedule remove NAME"""
    words = _argument(context)
    action = words[0].lower() if words else ""
    engine = app.engine
    if action == "remove" and len(words) == 2:
        removed = await offload(engine.remove_schedule, words[1])
        state = None
    elif action == "add" and len(words) in (3, 4):
        state = await offload(
            engine.add_schedule,
            words[1],
            times=split_times(words[2]),
            timezone=words[3] if len(words) == 4 else None,
        )
    elif action not in ("add", "remove") and len(words) in (2, 3):
        state = await offload(
            engine.set_schedule,
            words[0],
            times=split_times(words[1]),
            timezone=words[2] if len(words) == 3 else None,
        )
    else:
        await reply(update, text(language, "schedule_usage"))
        return
    await app.reschedule()
    if state is None:
        await reply(update, text(language, "schedule_removed", name=removed.name))
        return
    await reply(
        update,
        text(
            language,
            "schedule_set",
            name=state.name,
            times=", ".join(state.spec.times),
            zone=state.spec.timezone,
            next=_next_run(state, app),
        ),
    )


async def _pause_or_resume(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str, pause: bool
) -> None:
    words = _argument(context)
    if len(words) != 1:
        await reply(update, text(language, "pause_usage"))
        return
    state = await offload(app.engine.pause_schedule, words[0], pause)
    await app.reschedule()
    if pause:
        await reply(update, text(language, "paused", name=state.name))
    else:
        await reply(
            update,
            text(
                language,
                "resumed",
                name=state.name,
                next=_next_run(state, app),
                zone=state.spec.timezone,
            ),
        )


@admin_command
async def pause_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    await _pause_or_resume(update, context, app, language, pause=True)


@admin_command
async def resume_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    await _pause_or_resume(update, context, app, language, pause=False)


@admin_command
async def broadcast_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, app: BotServices, language: str
) -> None:
    message = update.effective_message
    raw = (message.text or "") if message is not None else ""
    # The text as typed, line breaks kept (context.args splits on whitespace).
    body = raw.split(maxsplit=1)[1].strip() if len(raw.split(maxsplit=1)) == 2 else ""
    if not body:
        await reply(update, text(language, "broadcast_usage"))
        return
    user = update.effective_user
    _id, count = await offload(
        app.engine.broadcast, html.escape(body, quote=False), sent_by=user.id if user else None
    )
    app.wake_delivery()
    await reply(update, text(language, "broadcast_queued", count=count))


ADMIN_COMMANDS: list[tuple[tuple[str, ...], Handler]] = [
    (("admin",), admin_help),
    (("addsource",), add_source_command),
    (("removesource",), remove_source_command),
    (("enablesource",), enable_source_command),
    (("preview",), preview_command),
    (("send",), send_command),
    (("stats",), stats_command),
    (("schedules",), schedules_command),
    (("schedule",), schedule_command),
    (("pause",), pause_command),
    (("resume",), resume_command),
    (("broadcast",), broadcast_command),
]
