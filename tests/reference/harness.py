"""Build and run the reference programs once per test session, skipping when a toolchain is absent.

Each program prints one JSON object. Builds go to pytest's temporary directory; the parsed output
is cached here (module level) so both reference test modules share one build per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REFERENCE_DIR = Path(__file__).resolve().parent
_TIMEOUT_S = 120

_cache: dict[str, dict[str, Any]] = {}
_skipped: dict[str, str] = {}


def _need(tool: str, what: str, hint: str = "") -> str:
    """Path of ``tool``, or skip the test with a reason naming what it was for."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found on PATH: cannot build/run the {what} reference{hint}")
    return path


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``; a failing build or run fails the test (a broken toolchain is not a skip)."""
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, env=env
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc.stdout


def _build_java(work: Path) -> dict[str, Any]:
    javac = _need("javac", "java.util.Random")
    java = _need("java", "java.util.Random")
    _run([javac, "-d", str(work), str(REFERENCE_DIR / "RandomVectors.java")], work)
    return json.loads(_run([java, "-cp", str(work), "RandomVectors"], work))


def _build_cpp(work: Path) -> dict[str, Any]:
    gxx = _need("g++", "C++ <random>")
    exe = work / "cpp_random"
    _run([gxx, "-O2", "-std=c++17", "-o", str(exe), str(REFERENCE_DIR / "cpp_random.cpp")], work)
    return json.loads(_run([str(exe)], work))


def _build_c(work: Path) -> dict[str, Any]:
    gcc = _need("gcc", "C generators")
    exe = work / "c_generators"
    _run([gcc, "-O2", "-std=c11", "-o", str(exe), str(REFERENCE_DIR / "c_generators.c")], work)
    return json.loads(_run([str(exe)], work))


def _build_php(work: Path) -> dict[str, Any]:
    php = _need("php", "PHP mt_rand", " (Debian: apt-get install php-cli)")
    return json.loads(_run([php, str(REFERENCE_DIR / "php_vectors.php")], work))


def _build_go(work: Path) -> dict[str, Any]:
    go = _need("go", "Go math/rand", " (Debian: apt-get install golang-go)")
    env = dict(os.environ)
    if not any(env.get(k) for k in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        env["GOCACHE"] = str(work / "gocache")  # go refuses to build without a cache folder
    return json.loads(_run([go, "run", str(REFERENCE_DIR / "go_rand.go")], work, env))


def _build_dotnet(work: Path) -> dict[str, Any]:
    hint = " (Debian: apt-get install mono-mcs mono-runtime)"
    mcs = _need("mcs", ".NET System.Random", hint)
    mono = _need("mono", ".NET System.Random", hint)
    exe = work / "DotnetRandom.exe"
    _run([mcs, f"-out:{exe}", str(REFERENCE_DIR / "DotnetRandom.cs")], work)
    return json.loads(_run([mono, str(exe)], work))


def _build_ruby(work: Path) -> dict[str, Any]:
    ruby = _need("ruby", "Ruby Random", " (Debian: apt-get install ruby)")
    return json.loads(_run([ruby, str(REFERENCE_DIR / "ruby_random.rb")], work))


_BUILDERS = {
    "java": _build_java,
    "cpp": _build_cpp,
    "c": _build_c,
    "php": _build_php,
    "go": _build_go,
    "dotnet": _build_dotnet,
    "ruby": _build_ruby,
}


def reference_vectors(kind: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Parsed JSON of reference program ``kind`` (see ``_BUILDERS``), built once per session."""
    if kind in _skipped:
        pytest.skip(_skipped[kind])
    if kind not in _cache:
        try:
            _cache[kind] = _BUILDERS[kind](tmp_path_factory.mktemp(f"reference_{kind}"))
        except pytest.skip.Exception as exc:
            _skipped[kind] = str(exc.msg)  # later requests skip without retrying
            raise
    return _cache[kind]
