"""What users install is what is tested: the installed package is complete and imported,
the compiled kernels are the ones that run, and shared, unprivileged and read-only
installs work (as the user nobody, whom file permissions apply to)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import w2v_cli
from tests.conftest import (
    BIN,
    GOLDEN,
    NOBODY,
    TESTS,
    as_nobody,
    can_run_as_nobody,
    console_script,
    run_as_nobody,
)
from w2v_cli import native, native_build

CHECKOUT = TESTS.parent
INSTALLED = Path(w2v_cli.__file__).resolve().parent
LEE = GOLDEN / "corpus" / "lee.txt"
MODEL = GOLDEN / "eval" / "vec-text8head-cbow-50.bin"
TESTING_INSTALLED = bool(os.environ.get("W2V_CLI_TEST_INSTALLED"))
COMMANDS = {"word2vec": "word2vec_main", "word2phrase": "word2phrase_main",
            "distance": "distance_main", "word-analogy": "word_analogy_main",
            "compute-accuracy": "compute_accuracy_main",
            "compute-similarity": "compute_similarity_main"}

needs_nobody = pytest.mark.skipif(not can_run_as_nobody,
                                  reason="needs root and setpriv to run as the user nobody")


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


@pytest.mark.skipif(not TESTING_INSTALLED,
                    reason="the suite runs on the source tree (make test runs it installed)")
def test_the_suite_runs_against_the_installed_package(tmp_path):
    assert not _inside(INSTALLED, CHECKOUT), f"imported the source tree: {INSTALLED}"
    done = subprocess.run([sys.executable, "-c", "import w2v_cli; print(w2v_cli.__file__)"],
                          cwd=tmp_path, capture_output=True, check=True, timeout=60)
    assert Path(done.stdout.decode().strip()).resolve().parent == INSTALLED
    for main in COMMANDS.values():            # the console scripts run this interpreter
        script = Path(console_script(main))
        assert script.parent == BIN and not _inside(script, CHECKOUT)
        shebang = script.read_text().splitlines()[0]
        assert shebang.startswith("#!") and Path(shebang[2:]).parent == BIN, shebang


def test_every_module_of_the_sources_is_installed():
    sources = CHECKOUT / "w2v_cli"
    if not sources.is_dir():
        pytest.skip("no source tree beside the tests")
    modules = sorted(str(p.relative_to(sources)) for p in sources.rglob("*.py")
                     if "__pycache__" not in p.parts and "_native" not in p.parts)
    assert "kernels/classic.py" in modules and "backends/cpu.py" in modules
    assert [m for m in modules if not (INSTALLED / m).is_file()] == []


def _report(env=None, cwd=None):
    """What ``python -m w2v_cli.native`` (the installed module) says it loaded."""
    done = subprocess.run([sys.executable, "-m", "w2v_cli.native"], cwd=cwd,
                          env=dict(os.environ, **(env or {})), capture_output=True, timeout=600)
    return done.returncode, done.stdout.decode().strip(), done.stderr.decode().strip()


def test_the_compiled_kernels_are_the_ones_that_run(tmp_path):
    """CI (make test) sets W2V_CLI_KERNELS=native for the whole suite, so every command
    there runs the compiled library or fails; this checks what a fresh process loads."""
    if native_build.compiler() is None and os.environ.get("W2V_CLI_KERNELS") != "native":
        pytest.skip("no C compiler here: the kernels run through Numba's JIT")
    code, out, err = _report(cwd=tmp_path)
    assert code == 0, err
    backend, path = out.split()[1:]
    assert backend == "native" and err == ""
    if not os.environ.get("W2V_CLI_CACHE_DIR"):
        # Built by whoever installed the package, in the package folder, for every user.
        assert Path(path).parent == INSTALLED / "_native"
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o644
        manifest = Path(path).parent / f"kernels-{native.cache_key()}.json"
        assert stat.S_IMODE(manifest.stat().st_mode) == 0o644
        assert stat.S_IMODE(Path(path).parent.stat().st_mode) & 0o055 == 0o055
    assert native.kernels().backend == "native"        # and in this process


def test_native_and_jit_train_the_same_bytes(tmp_path):
    if native_build.compiler() is None:
        pytest.skip("no C compiler here")
    flags = ["-train", str(LEE), "-size", "16", "-window", "3", "-iter", "1", "-cbow", "0",
             "-hs", "1", "-negative", "3", "-threads", "1", "-exact", "1", "-binary", "1",
             "-min-count", "3", "-debug", "0"]
    outputs = {}
    for backend in ("native", "jit"):
        output = tmp_path / f"{backend}.bin"
        done = subprocess.run([console_script("word2vec_main"), *flags, "-output", str(output)],
                              env=dict(os.environ, W2V_CLI_KERNELS=backend), cwd=tmp_path,
                              capture_output=True, timeout=600)
        assert done.returncode == 0 and done.stderr == b"", done.stderr
        outputs[backend] = output.read_bytes()
    assert len(outputs["native"]) > 1000 and outputs["native"] == outputs["jit"]


def _nobody_files(work: Path) -> Path:
    """Inputs for every command in ``work`` and an ``out`` folder nobody may write."""
    shutil.copy(LEE, work / "lee.txt")
    shutil.copy(MODEL, work / "model.bin")
    (work / "questions.txt").write_bytes(b": capital\nparis france berlin germany\n")
    (work / "pairs.txt").write_bytes(b"king queen 8.5\nman woman 8.3\ncar king 1.0\n")
    out = work / "out"
    out.mkdir()
    out.chmod(0o777)
    return out


def _run_every_command(run, work: Path):
    """Run each command once through ``run(main, args, stdin)``; (command, result) pairs."""
    cases = [("word2vec", ["-train", "lee.txt", "-output", "out/v.bin", "-size", "10",
                           "-iter", "1", "-binary", "1", "-threads", "1"], b""),
             ("word2phrase", ["-train", "lee.txt", "-output", "out/p.txt"], b""),
             ("distance", ["model.bin"], b"france\n"),
             ("word-analogy", ["model.bin"], b"paris france berlin\n"),
             ("compute-accuracy", ["model.bin", "30000"], (work / "questions.txt").read_bytes()),
             ("compute-similarity", ["model.bin", "pairs.txt"], b"")]
    return [(name, run(COMMANDS[name], args, stdin)) for name, args, stdin in cases]


def _assert_all_ran(results):
    for name, result in results:
        stderr = result.stderr.decode("utf-8", "replace")
        assert result.returncode == 0, (name, stderr)
        assert "Traceback" not in stderr and "internal error" not in stderr, (name, stderr)
        assert result.stdout, name


NO_HOME = {"HOME": "/nonexistent", "XDG_CACHE_HOME": ""}


@needs_nobody
def test_every_command_runs_as_nobody_without_a_home_on_the_shared_library(nobody_workdir):
    """The package folder is root's (read-only for nobody) and holds the library root
    built: nobody loads it, compiles nothing and writes nothing there."""
    if native.kernels().backend != "native":
        pytest.skip("no compiled kernel library here")
    if native.cache_folders()[0].path != native.PACKAGE_CACHE:
        pytest.skip("W2V_CLI_CACHE_DIR moves the library out of the package folder")
    out = _nobody_files(nobody_workdir)
    private_tmp = nobody_workdir / "tmp"
    private_tmp.mkdir()
    private_tmp.chmod(0o1777)
    env = dict(NO_HOME, TMPDIR=str(private_tmp))
    results = _run_every_command(
        lambda main, args, stdin: run_as_nobody(main, args, nobody_workdir, stdin, env=env),
        nobody_workdir)
    _assert_all_ran(results)
    for name, result in results:
        assert b"compiling" not in result.stderr, name
    assert list(private_tmp.iterdir()) == []            # no private cache was needed
    assert sorted(p.name for p in out.iterdir()) == ["p.txt", "v.bin"]


def _read_only_copy(folder: Path) -> Path:
    """The installed package copied to ``folder/site/w2v_cli`` without its compiled
    kernels or caches, every file and folder read-only; returns ``folder/site``."""
    site = folder / "site"
    shutil.copytree(INSTALLED, site / "w2v_cli",
                    ignore=shutil.ignore_patterns("_native", "__pycache__"))
    for path in [site, *site.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return site


@needs_nobody
@pytest.mark.slow
def test_cold_compile_as_nobody_without_a_home_on_a_read_only_install(nobody_workdir):
    """No library anywhere, no writable home, a read-only package: the first command
    compiles once into a private folder in $TMPDIR, says so once, and every command runs."""
    site = _read_only_copy(nobody_workdir)
    out = _nobody_files(nobody_workdir)
    private_tmp = nobody_workdir / "tmp"
    private_tmp.mkdir()
    private_tmp.chmod(0o1777)
    env = dict(os.environ, **NO_HOME, TMPDIR=str(private_tmp), PYTHONPATH=str(site))
    for name in ("W2V_CLI_CACHE_DIR", "NUMBA_CACHE_DIR"):
        env.pop(name, None)

    def run(main, args, stdin):
        name = next(command for command, entry in COMMANDS.items() if entry == main)
        code = f"import sys; sys.argv[0] = {name!r}; from w2v_cli.cli import {main}; {main}()"
        return subprocess.run(as_nobody([sys.executable, "-c", code, *args]),
                              cwd=nobody_workdir, env=env, input=stdin, capture_output=True,
                              timeout=600)

    results = _run_every_command(run, nobody_workdir)
    _assert_all_ran(results)
    notices = [(name, line) for name, result in results
               for line in result.stderr.decode().splitlines() if "compiling" in line]
    assert notices == [("word2vec", f"word2vec: {native.COMPILING_NOTICE}")]
    private = private_tmp / f"w2v_cli-{NOBODY}"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700 and private.stat().st_uid == NOBODY
    assert len(list(private.glob("kernels-*.so"))) == 1
    assert not (site / "w2v_cli" / "_native").exists()
    done = subprocess.run(as_nobody([sys.executable, "-m", "w2v_cli.native"]),
                          cwd=nobody_workdir, env=env, capture_output=True, timeout=600)
    assert done.stdout.decode().split()[:2] == ["kernels:", "native"]
    assert _inside(Path(done.stdout.decode().split()[2]), private)
    assert sorted(p.name for p in out.iterdir()) == ["p.txt", "v.bin"]


@needs_nobody
def test_no_writable_folder_at_all_is_one_line_and_the_jit_in_memory(nobody_workdir):
    """Read-only package without a library, no home, an unwritable TMPDIR: no library can
    be kept anywhere.  One line names every folder and why, and the command runs its
    kernels through Numba's JIT, which keeps what it compiles in memory."""
    site = _read_only_copy(nobody_workdir)
    _nobody_files(nobody_workdir)
    env = dict(os.environ, **NO_HOME, TMPDIR=str(site), PYTHONPATH=str(site),
               W2V_CLI_KERNELS="auto")
    for name in ("W2V_CLI_CACHE_DIR", "NUMBA_CACHE_DIR"):
        env.pop(name, None)
    code = "import sys; sys.argv[0] = 'distance'; from w2v_cli.cli import distance_main; " \
           "distance_main()"
    done = subprocess.run(as_nobody([sys.executable, "-c", code, "model.bin"]),
                          cwd=nobody_workdir, env=env, input=b"king\n", capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"Word: king" in done.stdout
    home_cache = "/nonexistent/.cache/w2v_cli"
    assert done.stderr.decode().splitlines() == [
        f"distance: cannot keep the compiled kernels in {site}/w2v_cli/_native: Permission "
        f"denied; {home_cache}: Permission denied; {site}/w2v_cli-65534: Permission denied "
        f"(set W2V_CLI_CACHE_DIR to a writable folder); running the kernels through Numba's "
        f"JIT instead, which compiles them again at every run"]


@pytest.mark.slow
def test_a_damaged_library_is_rebuilt_by_the_command(tmp_path):
    """A real rebuild (the fast tests copy a library instead of compiling)."""
    if native.kernels().backend != "native":
        pytest.skip("no compiled kernel library here")
    cache = tmp_path / "cache"
    cache.mkdir()
    library = Path(native.kernels().path)
    key = native.cache_key()
    shutil.copy(library, cache / library.name)
    shutil.copy(library.parent / f"kernels-{key}.json", cache)
    (cache / library.name).write_bytes(library.read_bytes()[:10000])        # truncated
    env = dict(os.environ, W2V_CLI_CACHE_DIR=str(cache), W2V_CLI_KERNELS="native")
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([console_script("word2vec_main"), "-train", str(LEE), "-output",
                           "v.bin", "-size", "10", "-iter", "1", "-debug", "1"], cwd=tmp_path,
                          env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines() == [f"word2vec: {native.COMPILING_NOTICE}"]
    libraries = sorted(p.name for p in cache.glob("kernels-*.so"))
    assert len(libraries) == 1 and libraries != [library.name]


def _readme_install_commands():
    """The commands of README's Installing section run in an environment of one's own."""
    text = (CHECKOUT / "README.md").read_text()
    section = text[text.index("## Installing"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    own = block[block.index("in an environment of your own"):]
    return [line.split("#")[0].strip() for line in own.splitlines()[1:]
            if line.split("#")[0].strip()]


@pytest.mark.slow
def test_the_readme_install_commands_work_in_a_fresh_environment(tmp_path):
    """README's commands (``pip install .``, the optional extras, the kernel compile) in a
    copy of the checkout, into a new virtual environment outside it, then the commands
    run from another folder."""
    commands = _readme_install_commands()
    assert commands == ["pip install .", "pip install '.[cuda]'", "pip install '.[mpi]'",
                        "cd / && python -m w2v_cli.native"]
    source = tmp_path / "source"
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "_native", "__pycache__", "data",
        ".pytest_cache", ".hypothesis", "bench-results"))
    venv.EnvBuilder(with_pip=True).create(tmp_path / "env")
    env_bin = tmp_path / "env" / "bin"
    env = dict(os.environ, PATH=f"{env_bin}{os.pathsep}{os.environ['PATH']}",
               VIRTUAL_ENV=str(tmp_path / "env"))
    for name in ("W2V_CLI_CACHE_DIR", "NUMBA_CACHE_DIR", "PYTHONPATH"):
        env.pop(name, None)
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=source, env=env, capture_output=True,
                              timeout=900)
        assert done.returncode == 0, (command, done.stderr.decode()[-2000:])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(["word2vec", "-train", str(LEE), "-output", "v.bin", "-size", "10",
                           "-iter", "1", "-debug", "0"], cwd=elsewhere, env=env,
                          capture_output=True, timeout=600)
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    done = subprocess.run(["distance", "v.bin"], cwd=elsewhere, env=env, input=b"the\n",
                          capture_output=True, timeout=600)
    assert done.returncode == 0 and b"Word: the" in done.stdout, done.stderr
    done = subprocess.run([str(env_bin / "python"), "-m", "w2v_cli.native"], cwd=elsewhere,
                          env=env, capture_output=True, timeout=600)
    installed = done.stdout.decode().split()[2]
    assert "site-packages" in installed and not _inside(Path(installed), CHECKOUT)
