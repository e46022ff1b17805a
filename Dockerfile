# newsdigest: the engine and (later) the bot in one image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY digests ./digests
COPY bot ./bot
RUN pip install --no-compile . && useradd --create-home --uid 1000 newsdigest \
    && mkdir -p /data && chown newsdigest /data
USER newsdigest
ENV NEWSDIGEST_DATABASE_URL=sqlite:////data/newsdigest.db
VOLUME ["/data"]
ENTRYPOINT ["newsdigest"]
# Fetch due sources every minute and build editions on schedule; the bot
# process replaces this once it exists.
CMD ["run-scheduler"]
