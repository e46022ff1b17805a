# newsdigest: the engine and the bot in one image.
#   docker build -t newsdigest .
#   docker run -e NEWSDIGEST_BOT_TOKEN -v newsdigest-data:/app/data -p 127.0.0.1:9464:9464 newsdigest
# compose.yaml runs it with PostgreSQL (docs/container.md); tests/test_packaging.py
# lints this file.

# The interpreter CI tests on (3.11) on Debian 12, slim: no compilers, no curl.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The dependencies from the lock file: every version pinned (the ones the test
# suite ran against, scripts/lock.sh) and every file checked against its hash, so
# an image built next month runs what was tested today. Their own layer, rebuilt
# only when the lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY digests ./digests
COPY bot ./bot
# The project itself, non-editable, without the test extra; --no-deps: everything
# it needs came from the lock above, nothing is resolved again.
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf /src \
    && groupadd --system --gid 10001 newsdigest \
    && useradd --system --uid 10001 --gid newsdigest --create-home --no-log-init newsdigest \
    && mkdir -p /app/data \
    && chown newsdigest:newsdigest /app/data

# config.toml is read from the working directory, and the default database
# (sqlite:///data/newsdigest.db, relative) lands in /app/data: the volume.
WORKDIR /app
VOLUME ["/app/data"]

# /metrics and /healthz, bound to every interface of the container so that
# Prometheus can scrape it; publish the port only where it should be reached.
ENV NEWSDIGEST_METRICS__HOST=0.0.0.0 \
    NEWSDIGEST_METRICS__PORT=9464
EXPOSE 9464

# By number, so that a runtime (Kubernetes' runAsNonRoot) can see it is not root.
USER 10001:10001

# The slim image has no curl: ask /healthz with the standard library. A failure
# is one line in `docker inspect` (the error, not a traceback) and exit status 1.
# /healthz answers within 5 s (503 when the database is unreachable).
# --start-interval needs Docker Engine 25 or later.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --start-interval=5s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; sys.excepthook = lambda t, e, tb: print(e); r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NEWSDIGEST_METRICS__PORT', '9464'), timeout=8)"]

# The bot: chat commands, fetching, editions on schedule and delivery in one
# process. The token comes from the environment at run time (NEWSDIGEST_BOT_TOKEN),
# never from the image.
CMD ["newsdigest", "run"]
