"""The package's shape: imports only go down the stages, no cycles (function-level imports included),
small modules that say what they are, and commands that do not import heavy libraries to start."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "simulator"
# Bottom to top; a module may import its own stage and the ones below it.
STAGES = [
    ("simulator", "simulator.keys", "simulator.text"),
    ("simulator.config",),
    ("simulator.records", "simulator.store", "simulator.pgstore", "simulator.bank", "simulator.suite"),
    ("simulator.objectfile", "simulator.recording"),
    ("simulator.routers",),
    ("simulator.replay",),
    ("simulator.imports",),
    ("simulator.static",),
    ("simulator.report",),
    ("simulator.localmodels",),
    ("simulator.cli", "simulator.__main__"),
    ("simulator.testing", "simulator.pytest_plugin"),
]
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "suites" in parts:  # task repositories of the local suite: data, not code
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every simulator module `path` imports, at any depth of its code."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out |= {n for n in names if n in known}
    return out


def stage(module: str) -> int:
    """The stage of the longest STAGES entry that is the module or a package holding it."""
    matches = [(len(m), i) for i, ms in enumerate(STAGES) for m in ms if module == m or module.startswith(m + ".")]
    assert matches, f"{module} belongs to no stage: add it to STAGES"
    return max(matches)[1]


def test_imports_only_go_down_the_stages():
    known = modules()
    upward = [
        f"{m} (stage {stage(m)}) imports {t} (stage {stage(t)})"
        for m, path in known.items()
        for t in imports(path, known)
        if stage(t) > stage(m)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    known = modules()
    graph = {m: imports(path, known) - {m} for m, path in known.items()}
    # Packages import their parents implicitly; only explicit edges count.
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_modules_are_small_and_say_what_they_are():
    for module, path in modules().items():
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_LINES, f"{module} has {len(text.splitlines())} lines (at most {MAX_LINES})"
        assert ast.get_docstring(ast.parse(text)), f"{module} has no docstring saying what it is"


HEAVY = ["litellm", "swebench.harness", "matplotlib", "minisweagent.models", "minisweagent.agents"]


@pytest.mark.parametrize("heavy", HEAVY)
def test_the_command_line_starts_without_heavy_libraries(heavy):
    """`twinsim --help`, `twinsim routers` and a bad router spec must answer instantly: nothing heavy is imported."""
    code = (
        "import sys; from click.testing import CliRunner; from simulator.cli import main\n"
        "for args in (['--help'], ['routers'], ['pools'], ['replay', 'recordings/quickstart', '-r', 'always:top']):\n"
        "    CliRunner().invoke(main, args)\n"
        f"print(sorted(m for m in sys.modules if m == {heavy!r} or m.startswith({heavy!r} + '.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True)
    assert out.stdout.strip() == "[]", f"{heavy} imported at start: {out.stdout[:300]}"
