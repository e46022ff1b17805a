"""Before/after in one run: a benchmark's own copy at another git revision, as a child process.

Used by ``benchmarks.delivery --before REV`` and ``benchmarks.scale --before REV``.
The revision is checked out in a git worktree under the temp dir
(``nd-before-<sha>``, the name ``benchmarks.loopstall`` uses too: an existing
one at the same commit is reused and left in place). Each pass of each side is
a fresh process running that side's OWN copy of the benchmark module (the
benchmark code changed with the product, e.g. ``Deliverer``'s signature), with
cwd and PYTHONPATH at the side's root: PYTHONPATH comes before the editable
install's finder (appended to ``sys.meta_path``), so ``digests`` and ``bot``
import from the side's root. The child reports where it imported from and its
results go to a directory of the parent's choosing (the module's ``RESULTS``
is redirected), never into either tree's ``benchmarks/results``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Run in the child as `python -c DRIVER MODULE OUT [ARGS...]`: imports
# benchmarks.MODULE from the side's root, writes its results to OUT, and records
# in OUT/child.json where digests, bot and the module came from, the exit code
# and (for a module whose report() takes the outcomes first) the outcomes.
DRIVER = r"""
import dataclasses, importlib, json, sys
from pathlib import Path

name, out, *argv = sys.argv[1:]
out = Path(out)
module = importlib.import_module("benchmarks." + name)
import bot, digests

module.RESULTS = out
captured = {}
if name == "scale":
    original = module.report

    def report(outcomes, *args, **kwargs):
        captured["outcomes"] = [dataclasses.asdict(outcome) for outcome in outcomes]
        return original(outcomes, *args, **kwargs)

    module.report = report
code = module.main(argv)
(out / "child.json").write_text(json.dumps({
    "exit": code,
    "imports": {"digests": digests.__file__, "bot": bot.__file__, name: module.__file__},
    "outcomes": captured.get("outcomes"),
}))
sys.exit(code or 0)
"""

# Where a process the benchmark starts (`newsdigest run`, `newsdigest worker`)
# imports from: same environment, cwd outside either tree.
PROBE = "import bot.cli, digests; print(digests.__file__); print(bot.cli.__file__)"


@dataclass
class Side:
    label: str  # "before" or "after"
    root: Path
    describe: str
    imports: dict[str, str] = field(default_factory=dict)


# -- pure helpers -------------------------------------------------------------------


def outside(files: Iterable[str], root: Path) -> list[str]:
    """The files not under ``root`` (both resolved)."""
    top = root.resolve()
    return [file for file in files if top not in Path(file).resolve().parents]


def change(before: float, after: float) -> str:
    """After relative to before, as a signed percentage ("+3.1%", "-12.0%")."""
    if before == 0:
        return "-"
    return f"{(after - before) / before * 100:+.1f}%"


def spread(values: Sequence[float], digits: int = 1) -> str:
    """The median and the range ("12.5 (11.0–13.1)"), or the one value."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    return (
        f"{statistics.median(values):,.{digits}f} "
        f"({min(values):,.{digits}f}–{max(values):,.{digits}f})"
    )


def known_fields(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` restricted to the fields of the dataclass ``cls`` (an older
    revision's record may carry fields this one does not)."""
    names = set(getattr(cls, "__dataclass_fields__", {}))
    return {key: value for key, value in values.items() if key in names}


# -- machine ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(load_start: float, elapsed: float) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_average_start": round(load_start, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "seconds": round(elapsed),
    }


def machine_line(facts: dict[str, Any], when: str) -> str:
    return (
        f"Run {when} on **{facts['cpus']} CPUs** ({facts['cpu']}, {facts['machine']}), "
        f"Python {facts['python']}; load average {facts['load_average_start']:.1f} at the "
        f"start, {facts['load_average_end']:.1f} at the end; {facts['seconds']} s in all."
    )


# -- git and processes ----------------------------------------------------------------


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(cwd), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@contextlib.contextmanager
def worktree(
    revision: str, keep: bool = False, say: Callable[[str], object] = print
) -> Iterator[Path]:
    """REV checked out in ``<tmp>/nd-before-<sha7>`` (reused if it is there at that
    commit; removed afterwards if this made it, unless ``keep``)."""
    full = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    path = Path(tempfile.gettempdir()) / f"nd-before-{full[:7]}"
    made = False
    if path.exists():
        if git("rev-parse", "HEAD", cwd=path) != full:
            raise SystemExit(f"{path} exists but is not at {full[:7]}")
        say(f"reusing the worktree {path}")
    else:
        git("worktree", "add", "--detach", str(path), full)
        made = True
    try:
        yield path
    finally:
        if made and not keep:
            git("worktree", "remove", "--force", str(path))
            git("worktree", "prune")
        elif made:
            say(f"kept the worktree {path}")


def side_environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    return env


@contextlib.contextmanager
def sides(
    before: str, keep: bool = False, say: Callable[[str], object] = print
) -> Iterator[list[Side]]:
    """[before at REV in a worktree, after = the working tree], each checked to
    import from its own root (as a process the benchmark starts would)."""
    head = git("rev-parse", "--short", "HEAD")
    changed = len(git("status", "--porcelain").splitlines())
    with worktree(before, keep, say) as root:
        short = git("rev-parse", "--short", f"{before}^{{commit}}")
        found = [
            Side("before", root, f"{short} in a worktree ({root})"),
            Side(
                "after", REPO, f"the working tree ({REPO}, HEAD {head} + {changed} changed paths)"
            ),
        ]
        for side in found:
            side.imports["newsdigest process"] = probe(side)
        yield found


def probe(side: Side) -> str:
    """Where ``bot.cli`` and ``digests`` import from in a process started with the
    side's environment outside either tree; anything else ends the benchmark."""
    with tempfile.TemporaryDirectory(prefix="nd-probe-") as cwd:
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=cwd,
            env=side_environment(side.root),
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise SystemExit(f"{side.label}: cannot import the product: {result.stderr.strip()}")
    files = result.stdout.split()
    wrong = outside(files, side.root)
    if wrong:
        raise SystemExit(f"{side.label} imports {wrong[0]}, not code under {side.root}")
    return files[0]


def run_child(side: Side, module: str, argv: Sequence[str], out: Path) -> dict[str, Any]:
    """One pass: ``benchmarks.MODULE ARGV`` as the side's own code in a fresh
    process (cwd and PYTHONPATH the side's root), results into ``out``. Returns
    the child's record (exit, imports, outcomes); its output is in out/child.log."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "child.log"
    with log.open("wb") as handle:
        result = subprocess.run(
            [sys.executable, "-c", DRIVER, module, str(out), *argv],
            cwd=side.root,
            env=side_environment(side.root),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    record_file = out / "child.json"
    if result.returncode != 0 or not record_file.is_file():
        tail = log.read_text("utf-8", "replace").strip().splitlines()[-15:]
        raise SystemExit(
            f"{side.label}: `benchmarks.{module}` exited {result.returncode}; its output ends:\n"
            + "\n".join(tail)
        )
    record: dict[str, Any] = json.loads(record_file.read_text("utf-8"))
    wrong = outside(record["imports"].values(), side.root)
    if wrong:
        raise SystemExit(f"{side.label}: the benchmark imported {wrong[0]}, not from {side.root}")
    for name, file in record["imports"].items():
        side.imports.setdefault(name, file)
    return record


def sides_lines(found: Sequence[Side]) -> list[str]:
    """One Markdown line per side: its code and where it imported from."""
    return [
        f"- **{side.label}**: {side.describe}; imports "
        + ", ".join(f"{name} `{file}`" for name, file in side.imports.items())
        for side in found
    ]
