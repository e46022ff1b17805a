"""Telegram shell over the engine in ``digests``.

The engine never imports this package; handlers, rendering and delivery live
here once the bot is built (see the issue tracker).
"""
