"""newsdigest's engine: ingest, store, summarize, compose, plan and search the news.

``digests.engine.Engine`` is the one entry point (a use case per method);
``digests.runtime`` runs its periodic work. ``digests`` never imports ``bot``.
"""

__version__ = "0.1.0"
