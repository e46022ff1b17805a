"""/today: the latest edition now, as this chat reads it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes

from bot.delivery import Variant, render_variant, source_names, variant_of
from bot.handlers.common import current_subscriber, language_for, next_delivery, reply
from bot.i18n import text
from bot.render import render_html
from bot.services import BotServices, services
from digests.edition import build_edition
from digests.filters import apply_filters
from digests.present import strings_for
from digests.store import deliveries as ledger
from digests.store.models import Edition, Subscriber
from digests.store.subscribers import word_filters


def latest_stored(app: BotServices, schedule: str) -> Edition | None:
    with app.db.read() as session:
        return session.scalar(
            select(Edition)
            .where(Edition.schedule == schedule)
            .order_by(Edition.edition_date.desc(), Edition.slot.desc(), Edition.id.desc())
            .limit(1)
        )


def edition_messages(
    app: BotServices, subscriber: Subscriber | None, language: str
) -> list[str] | None:
    """The newest edition of the chat's schedule, rendered for it; before the
    first edition is built, a preview of what it would hold now."""
    spec = (app.schedule(subscriber.schedule) if subscriber else None) or app.default_schedule()
    if subscriber is not None:
        with app.db.read() as session:
            filters = word_filters(session, [subscriber.id])
        variant = variant_of(subscriber, spec, source_names(app.db), filters)
    else:
        variant = Variant(language, spec.timezone, None)
    edition = latest_stored(app, spec.name)
    if edition is None:
        chosen = list(variant.sources) if variant.sources is not None else list(spec.sources)
        preview = build_edition(
            app.db,
            app.settings.digest,
            now=app.clock(),
            schedule=spec.name,
            preview=True,
            sources=chosen or None,
        )
        digest = apply_filters(
            preview.digest, variant.mutes, variant.follows, strings_for(variant.language).following
        )
        if digest.empty:
            return None
        return render_html(
            digest,
            language=variant.language,
            title=app.settings.digest.title,
            tz=ZoneInfo(variant.timezone),
        )
    with app.db.write() as session:
        stored = ledger.render_for(
            session,
            edition.id,
            variant.key,
            lambda: render_variant(app.db, app.settings, edition, variant),
        )
        return list(stored.parts)


async def today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    app = services(context)
    subscriber = current_subscriber(app, chat.id)
    language = language_for(update, app, subscriber)
    messages = edition_messages(app, subscriber, language)
    if not messages:
        spec = (app.schedule(subscriber.schedule) if subscriber else None) or app.default_schedule()
        when, zone = next_delivery(app, spec, subscriber, app.clock())
        await reply(update, text(language, "no_edition", next=when, zone=zone))
        return
    for message in messages:
        await reply(update, message)
