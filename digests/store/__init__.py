"""Durable storage: SQLAlchemy models, sessions, Alembic migrations, repositories."""
