# newsdigest: the engine and the bot in one image.
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
# The bot: chat commands, fetching, editions on schedule and delivery in one
# process. Pass the token at run time: docker run -e NEWSDIGEST_BOT_TOKEN=...
CMD ["run"]
