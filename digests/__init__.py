"""newsdigest engine: ingest, store and (later) summarize and compose the news."""

__version__ = "0.1.0"
