"""Checkers for the container packaging: the Dockerfile, its lock file, .dockerignore
and compose.yaml.

Pure functions over parsed files (dockerfile-parse, PyYAML): each rule returns the
problems it finds as one line each, so a test can run it on the real file and on a
broken one. tests/test_packaging.py runs them; hadolint is run there too.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from digests.config import MetricsSettings, Settings

# Extras that never belong in the image.
DEV_EXTRAS = {"test", "bench"}
# The image's dependencies, pinned with hashes (scripts/lock.sh writes it).
LOCK_FILE = "requirements.lock"
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)
TELEGRAM_TOKEN = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b")
PYTHON_SLIM = re.compile(
    r"^(?:docker\.io/)?(?:library/)?python:(?P<minor>3\.\d+)(?:\.\d+)?-slim-(?P<distro>[a-z]+)"
    r"(?:@sha256:[0-9a-f]{64})?$"
)


# --- the Dockerfile -----------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    name: str
    value: str
    line: int
    envs: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)


def parse_dockerfile(text: str) -> list[Instruction]:
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    return [
        Instruction(
            name=item["instruction"],
            value=item["value"],
            line=item["startline"] + 1,
            envs=dict(context.line_envs),
            args=dict(context.line_args),
        )
        for item, context in zip(parser.structure, parser.context_structure, strict=True)
    ]


def final_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in instructions:
        if item.name == "FROM":
            env = {}
        env.update(item.envs)
    return env


def exec_form(value: str) -> list[str] | None:
    """The argv of an exec-form (JSON array) CMD/ENTRYPOINT, None for the shell form."""
    try:
        argv = json.loads(value)
    except ValueError:
        return None
    if isinstance(argv, list) and all(isinstance(part, str) for part in argv):
        return argv
    return None


def healthcheck_argv(instructions: list[Instruction]) -> list[str] | None:
    checks = [item for item in instructions if item.name == "HEALTHCHECK"]
    if len(checks) != 1:
        return None
    match = re.match(r"^(?:--\S+\s+)*CMD\s+(?P<command>.+)$", checks[0].value, re.DOTALL)
    return exec_form(match.group("command")) if match else None


def workdirs(instructions: list[Instruction]) -> Iterator[tuple[str, Instruction]]:
    """Each instruction with the working directory it runs in."""
    workdir = "/"
    for item in instructions:
        if item.name == "FROM":
            workdir = "/"
        elif item.name == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, item.value.strip()))
        yield workdir, item


def copies(instructions: list[Instruction]) -> list[tuple[list[str], str]]:
    """(sources, absolute destination) of each COPY/ADD from the build context; a
    destination that is a folder ends with "/"."""
    found = []
    for workdir, item in workdirs(instructions):
        if item.name not in ("COPY", "ADD") or "--from=" in item.value:
            continue
        words = exec_form(item.value) or shlex.split(item.value)
        words = [word for word in words if not word.startswith("--")]
        if len(words) < 2:
            continue
        destination = posixpath.normpath(posixpath.join(workdir, words[-1]))
        if words[-1].endswith("/") or words[-1] == "." or len(words) > 2:
            destination = destination.rstrip("/") + "/"
        found.append((words[:-1], destination))
    return found


def pip_installs(instructions: list[Instruction]) -> list[tuple[str, list[str]]]:
    """(working directory, words after `install`) of every pip install in a RUN."""
    found = []
    for workdir, item in workdirs(instructions):
        if item.name != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", item.value):
            words = shlex.split(command)
            for at in range(len(words) - 1):
                if words[at] in ("pip", "pip3") and words[at + 1] == "install":
                    found.append((workdir, words[at + 2 :]))
                elif words[at : at + 3] == ["-m", "pip", "install"]:
                    found.append((workdir, words[at + 3 :]))
    return found


def volumes(instructions: list[Instruction]) -> list[str]:
    paths: list[str] = []
    for item in instructions:
        if item.name == "VOLUME":
            paths += exec_form(item.value) or item.value.split()
    return [posixpath.normpath(path) for path in paths]


def database_path(instructions: list[Instruction]) -> str | None:
    """Where the image's SQLite database lands: its env override or the config default,
    relative to the final working directory. None when it is not a SQLite file."""
    url = make_url(final_env(instructions).get("NEWSDIGEST_DATABASE_URL", Settings().database_url))
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    final_workdir = [workdir for workdir, _ in workdirs(instructions)][-1]
    return posixpath.normpath(posixpath.join(final_workdir, url.database))


def check_base_image(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    froms = [item for item in instructions if item.name == "FROM"]
    if not froms:
        return ["no FROM"]
    image = froms[-1].value.split()[0]
    match = PYTHON_SLIM.match(image)
    if not match:
        return [f"base image {image!r} is not a pinned python:<3.x>-slim-<debian release>"]
    requires = SpecifierSet(project["project"]["requires-python"])
    if f"{match['minor']}.0" not in requires:
        return [f"base image Python {match['minor']} is outside requires-python {requires}"]
    return []


def check_user(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    user = "root"
    for item in instructions:
        if item.name == "FROM":
            user = "root"
        elif item.name == "USER":
            user = item.value.strip()
        elif item.name == "CMD":
            if user.split(":")[0] in ("root", "0"):
                return [f"CMD runs as {user!r}: set a USER that is not root before it"]
            return []
    return ["no CMD"]


def check_command(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name in ("ENTRYPOINT", "CMD"):
        items = [item for item in instructions if item.name == name]
        if not items:
            continue
        part = exec_form(items[-1].value)
        if part is None:
            return [f"{name} is in shell form: use the JSON form so signals reach the bot"]
        argv += part
    if argv != ["newsdigest", "run"]:
        return [f"the container runs {argv!r}, not ['newsdigest', 'run']"]
    if argv[0] not in project["project"]["scripts"]:
        return [f"{argv[0]!r} is not a script of pyproject.toml"]
    return []


def check_healthcheck(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    argv = healthcheck_argv(instructions)
    if argv is None:
        return ["no HEALTHCHECK with a JSON-form CMD"]
    command = " ".join(argv)
    if argv[0] not in ("python", "python3") or "urllib" not in command:
        return ["the HEALTHCHECK does not ask with Python's urllib (the slim image has no curl)"]
    if "/healthz" not in command:
        return ["the HEALTHCHECK does not ask /healthz"]
    return []


@dataclass(frozen=True)
class PipInstall:
    """One `pip install` of a RUN: its working directory, options, targets (what it
    installs by name or path) and requirement files (-r)."""

    workdir: str
    options: list[str]
    targets: list[str]
    requirement_files: list[str]


def pip_install_of(workdir: str, words: list[str]) -> PipInstall:
    options: list[str] = []
    targets: list[str] = []
    files: list[str] = []
    rest = iter(words)
    for word in rest:
        if word in ("-r", "--requirement"):
            files.append(next(rest, ""))
        elif word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
        elif word.startswith("-r") and len(word) > 2:
            files.append(word[2:])
        elif word.startswith("-"):
            options.append(word)
        else:
            targets.append(word)
    return PipInstall(workdir, options, targets, files)


def _copied_to(instructions: list[Instruction], path: str) -> bool:
    """Whether a COPY puts the build context's file of that name at path."""
    name = posixpath.basename(path)
    for sources, destination in copies(instructions):
        if name not in sources:
            continue
        if destination == posixpath.dirname(path) + "/" or destination == path:
            return True
    return False


def _check_cache(install: PipInstall, env: dict[str, str], what: str) -> list[str]:
    if "--no-cache-dir" not in install.options and not env.get("PIP_NO_CACHE_DIR"):
        return [f"pip keeps its cache in the image ({what}: --no-cache-dir)"]
    return []


def check_install(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    """Two pip installs: the dependencies from the lock file, every file checked
    against its hash, then the project itself without resolving anything again."""
    installs = [pip_install_of(workdir, words) for workdir, words in pip_installs(instructions)]
    if len(installs) != 2:
        return [
            f"expected two pip installs (the dependencies from {LOCK_FILE}, then the project),"
            f" found {len(installs)}"
        ]
    env = final_env(instructions)
    problems = []
    locked = [install for install in installs if install.requirement_files]
    if not locked:
        return [f"no `pip install -r {LOCK_FILE}`: the dependencies would be resolved unpinned"]
    lock, project_install = locked[0], next(i for i in installs if i is not locked[0])
    if lock.requirement_files != [LOCK_FILE]:
        problems.append(f"the dependencies come from {lock.requirement_files}, not {LOCK_FILE}")
    elif not _copied_to(instructions, posixpath.join(lock.workdir, LOCK_FILE)):
        problems.append(f"pip reads {LOCK_FILE} in {lock.workdir}, where it was not copied")
    if "--require-hashes" not in lock.options:
        problems.append("the dependencies are installed without --require-hashes")
    if lock.targets:
        problems.append(f"the lock's pip install also installs {lock.targets!r}")
    problems += _check_cache(lock, env, "the dependencies")

    options, targets = project_install.options, project_install.targets
    if (
        project_install.requirement_files
        or len(targets) != 1
        or not re.fullmatch(r"\.(\[[\w,-]+\])?", targets[0])
    ):
        problems.append(f"pip installs {targets!r}, not the repository ('.')")
    else:
        extras = set(re.findall(r"[\w-]+", targets[0]))
        known = set(project["project"].get("optional-dependencies", {}))
        if extras - known:
            problems.append(f"extras {sorted(extras - known)} are not in pyproject.toml")
        if extras & DEV_EXTRAS:
            problems.append(f"the image installs development extras {sorted(extras & DEV_EXTRAS)}")
    if {"-e", "--editable"} & set(options):
        problems.append("the image installs in editable mode")
    if "--no-deps" not in options:
        problems.append(
            "the project's pip install resolves its dependencies again, past the lock (--no-deps)"
        )
    problems += _check_cache(project_install, env, "the project")
    copied = {
        destination.rstrip("/") or "/"
        if destination.endswith("/")
        else posixpath.dirname(destination)
        for sources, destination in copies(instructions)
        if "pyproject.toml" in sources
    }
    if project_install.workdir not in copied:
        problems.append(
            f"pip install runs in {project_install.workdir}, where pyproject.toml was not copied"
        )
    return problems


def check_data_volume(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    path = database_path(instructions)
    if path is None:
        return []
    directory = posixpath.dirname(path)
    if not any(
        directory == volume or directory.startswith(volume + "/")
        for volume in volumes(instructions)
    ):
        return [f"the database {path} is not on a VOLUME"]
    return []


def check_secrets(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    problems = []
    for item in instructions:
        for name, value in {**item.envs, **item.args}.items():
            if SECRET_NAME.search(name):
                problems.append(f"line {item.line}: {item.name} {name} would hold a secret")
            elif urlsplit(value).password:
                problems.append(f"line {item.line}: {item.name} {name} holds a password")
        if TELEGRAM_TOKEN.search(item.value):
            problems.append(f"line {item.line}: a bot token is written in the Dockerfile")
    return problems


def check_runtime_env(instructions: list[Instruction], project: dict[str, Any]) -> list[str]:
    env = final_env(instructions)
    problems = [
        f"{name} is not set"
        for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
        if not env.get(name)
    ]
    if env.get("NEWSDIGEST_METRICS__HOST") != "0.0.0.0":
        problems.append("the metrics endpoint is not bound to 0.0.0.0 (NEWSDIGEST_METRICS__HOST)")
    port = env.get("NEWSDIGEST_METRICS__PORT", str(MetricsSettings().port))
    exposed = {
        word.split("/")[0]
        for item in instructions
        if item.name == "EXPOSE"
        for word in item.value.split()
    }
    if port not in exposed:
        problems.append(f"the metrics port {port} is not EXPOSEd")
    return problems


DOCKERFILE_RULES: list[Callable[[list[Instruction], dict[str, Any]], list[str]]] = [
    check_base_image,
    check_user,
    check_command,
    check_healthcheck,
    check_install,
    check_data_volume,
    check_secrets,
    check_runtime_env,
]


def dockerfile_problems(text: str, project: dict[str, Any]) -> list[str]:
    """Every rule's problems with a Dockerfile; project is pyproject.toml, parsed."""
    instructions = parse_dockerfile(text)
    return [problem for rule in DOCKERFILE_RULES for problem in rule(instructions, project)]


# --- the lock file -------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: int
    line: int


def parse_lock(text: str) -> tuple[list[Pin], list[str]]:
    """The pins of a requirements file with hashes (pip's format, as scripts/lock.sh
    writes it), and a problem for each line that is no requirement."""
    pins: list[Pin] = []
    problems: list[str] = []
    logical: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        pending += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            if pending.strip():
                logical.append((start, pending.strip()))
            pending = ""
    for number, line in logical:
        words = line.split()
        hashes = [word for word in words if word.startswith("--hash=")]
        spec = " ".join(word for word in words if not word.startswith("--hash="))
        try:
            pins.append(Pin(Requirement(spec), len(hashes), number))
        except InvalidRequirement as exc:
            problems.append(f"{LOCK_FILE} line {number}: not a requirement ({exc})")
    return pins, problems


def lock_problems(text: str, project: dict[str, Any]) -> list[str]:
    """The lock's problems: each line a pin (==) with hashes, once, and every runtime
    dependency of pyproject.toml pinned at a version its specifier allows; project is
    pyproject.toml, parsed."""
    pins, problems = parse_lock(text)
    pinned: dict[str, Pin] = {}
    for pin in pins:
        name = canonicalize_name(pin.requirement.name)
        specifiers = list(pin.requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            problems.append(f"{LOCK_FILE} line {pin.line}: {pin.requirement} is not pinned (==)")
        if pin.hashes == 0:
            problems.append(f"{LOCK_FILE} line {pin.line}: {pin.requirement.name} has no --hash")
        if name in pinned:
            problems.append(f"{pin.requirement.name} is pinned twice in {LOCK_FILE}")
        pinned[name] = pin
    for dependency in project["project"].get("dependencies", []):
        wanted = Requirement(dependency)
        found = pinned.get(canonicalize_name(wanted.name))
        if found is None:
            problems.append(
                f"pyproject.toml's dependency {wanted.name} is not in {LOCK_FILE}"
                " (bash scripts/lock.sh)"
            )
            continue
        version = locked_version(found)
        if version is not None and not wanted.specifier.contains(version, prereleases=True):
            problems.append(
                f"{LOCK_FILE} pins {wanted.name}=={version}, outside pyproject.toml's"
                f" {wanted.specifier} (bash scripts/lock.sh)"
            )
    return problems


def locked_version(pin: Pin) -> str | None:
    specifiers = list(pin.requirement.specifier)
    if len(specifiers) == 1 and specifiers[0].operator == "==":
        return specifiers[0].version
    return None


# --- the build context ------------------------------------------------------------


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def build_context(root: Path) -> set[str]:
    """The files and folders `docker build root` sends, by .dockerignore's rules."""
    patterns = dockerignore_patterns((root / ".dockerignore").read_text(encoding="utf-8"))
    return set(exclude_paths(str(root), patterns))


def package_files(root: Path, sources: list[str]) -> set[str]:
    found = set()
    for source in sources:
        path = root / source
        candidates = path.rglob("*") if path.is_dir() else [path]
        found |= {
            str(item.relative_to(root))
            for item in candidates
            if item.is_file() and "__pycache__" not in item.parts
        }
    return found


# --- compose.yaml -------------------------------------------------------------------

# ${NAME}, ${NAME:?message}, ${NAME-default} ..., $NAME, and $$ (a literal $).
_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation, enough for this file."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match["name"] or match["bare"]
        op, arg, present = match["op"] or "", match["arg"] or "", name in env
        set_ = bool(env.get(name)) if op.startswith(":") else present
        if op.endswith("?") and not set_:
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op.endswith("-") and not set_:
            return arg
        if op.endswith("+"):
            return arg if set_ else ""
        return env.get(name, "")

    return _REFERENCE.sub(one, value)


def only_reference(value: object, name: str, required: bool = False) -> bool:
    """Whether value is nothing but a reference to ${name} (with :? when required)."""
    match = _REFERENCE.fullmatch(str(value).strip())
    if not match or (match["name"] or match["bare"]) != name:
        return False
    return not required or match["op"] == ":?"


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def argv_of(command: object) -> list[str]:
    return (
        shlex.split(command) if isinstance(command, str) else [str(word) for word in command or []]
    )


def strings(node: object) -> Iterator[tuple[str, str]]:
    """(key, text) of every string in a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from (("", item),) if isinstance(item, str) else strings(item)


def check_secret_literals(doc: dict[str, Any], text: str) -> list[str]:
    problems = []
    for key, value in strings(doc):
        if "=" in value and not key:
            key, value = value.split("=", 1)
        if SECRET_NAME.search(key) and not _REFERENCE.fullmatch(value.strip()):
            problems.append(f"{key} is written in compose.yaml, not taken from ${{VAR}}")
        password = urlsplit(value).password if "://" in value else None
        if password and not _REFERENCE.fullmatch(password):
            problems.append(f"a URL in compose.yaml carries a literal password: {key}")
    if TELEGRAM_TOKEN.search(text):
        problems.append("a bot token is written in compose.yaml")
    return problems


def check_postgres(services: dict[str, Any], declared_volumes: set[str]) -> list[str]:
    postgres = services.get("postgres")
    if not isinstance(postgres, dict):
        return ["no postgres service"]
    problems = []
    if not re.fullmatch(
        r"(?:docker\.io/)?(?:library/)?postgres:\d+(?:[.-][\w.-]+)?", str(postgres.get("image"))
    ):
        problems.append(
            f"postgres image {postgres.get('image')!r} is not the official one with a pinned major"
        )
    if not only_reference(
        environment(postgres).get("POSTGRES_PASSWORD"), "POSTGRES_PASSWORD", required=True
    ):
        problems.append("POSTGRES_PASSWORD is not ${POSTGRES_PASSWORD:?...}")
    mounts = [
        str(item).split(":") for item in postgres.get("volumes") or [] if isinstance(item, str)
    ]
    if not any(
        len(mount) >= 2
        and mount[0] in declared_volumes
        and mount[1].startswith("/var/lib/postgresql")
        for mount in mounts
    ):
        problems.append("the postgres data is not on a named volume")
    if "pg_isready" not in " ".join(argv_of((postgres.get("healthcheck") or {}).get("test"))):
        problems.append("postgres has no pg_isready healthcheck")
    return problems


def check_newsdigest_service(services: dict[str, Any], name: str, command: list[str]) -> list[str]:
    service = services.get(name)
    if not isinstance(service, dict):
        return [f"no {name} service"]
    problems = []
    build = service.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    if context not in (".", "./"):
        problems.append(f"{name} is not built from this repository's Dockerfile")
    if argv_of(service.get("command")) != command:
        problems.append(f"{name} runs {service.get('command')!r}, not {command!r}")
    env = environment(service)
    if not only_reference(env.get("NEWSDIGEST_BOT_TOKEN"), "NEWSDIGEST_BOT_TOKEN"):
        problems.append(f"{name}: NEWSDIGEST_BOT_TOKEN is not ${{NEWSDIGEST_BOT_TOKEN}}")
    postgres_env = environment(services.get("postgres") or {})
    try:
        url = make_url(
            interpolate(
                env.get("NEWSDIGEST_DATABASE_URL", ""),
                {"POSTGRES_PASSWORD": "pw-from-env", "NEWSDIGEST_BOT_TOKEN": "t"},
            )
        )
    except (ArgumentError, ValueError) as exc:
        return [*problems, f"{name}: NEWSDIGEST_DATABASE_URL is not a database URL ({exc})"]
    expected = (
        "postgresql+psycopg",
        "postgres",
        5432,
        postgres_env.get("POSTGRES_USER"),
        "pw-from-env",
        postgres_env.get("POSTGRES_DB"),
    )
    found = (url.drivername, url.host, url.port, url.username, url.password, url.database)
    if found != expected:
        problems.append(
            f"{name}: NEWSDIGEST_DATABASE_URL does not point at the postgres service"
            f" as its user: {found} != {expected}"
        )
    depends = service.get("depends_on")
    if (
        not isinstance(depends, dict)
        or (depends.get("postgres") or {}).get("condition") != "service_healthy"
    ):
        problems.append(f"{name} does not wait for postgres to be healthy")
    if service.get("restart") in (None, "no"):
        problems.append(f"{name} has no restart policy")
    return problems


def check_scaling(services: dict[str, Any]) -> list[str]:
    problems = []
    for name in ("postgres", "bot"):
        if (services.get(name) or {}).get("profiles"):
            problems.append(
                f"{name} is under a profile: a plain `docker compose up` would not start it"
            )
    worker = services.get("worker") or {}
    if not worker.get("profiles"):
        problems.append(
            "the worker is not under a profile: a plain `docker compose up` would start it"
        )
    waits_for = worker.get("depends_on") or {}
    if (
        not isinstance(waits_for, dict)
        or (waits_for.get("bot") or {}).get("condition") != "service_healthy"
    ):
        problems.append("the worker does not wait for the bot to be healthy (schema migrated)")
    if "container_name" in worker:
        problems.append("the worker has a container_name: it cannot be scaled")
    if any(
        ":" in str(port) or (isinstance(port, dict) and port.get("published"))
        for port in worker.get("ports") or []
    ):
        problems.append("the worker publishes a fixed host port: a second one cannot start")
    return problems


def compose_problems(text: str) -> list[str]:
    doc = yaml.safe_load(text)
    services = doc.get("services") or {}
    declared_volumes = set(doc.get("volumes") or {})
    problems = [
        *check_secret_literals(doc, text),
        *check_postgres(services, declared_volumes),
        *check_newsdigest_service(services, "bot", ["newsdigest", "run"]),
        *check_newsdigest_service(services, "worker", ["newsdigest", "worker"]),
        *check_scaling(services),
    ]
    return list(dict.fromkeys(problems))
