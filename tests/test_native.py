"""The kernel library cache: building once, checking before loading, rebuilding what is
damaged, deleting only its own files, and the backends chosen by W2V_CLI_KERNELS.

Most tests build "libraries" by copying the one this suite runs on (a real compile takes
half a minute); the compile itself is exercised by the interrupt tests here and by the
slow tests of test_install.py.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, console_script, run_cli_in_process
from w2v_cli import native, native_build
from w2v_cli.cli import word2phrase_main, word2vec_main
from w2v_cli.errors import KernelError

LEE = GOLDEN / "corpus" / "lee.txt"


@pytest.fixture(scope="module")
def suite_library():
    """(library path, manifest) of the compiled kernels this suite runs on."""
    loaded = native.kernels()
    if loaded.backend != "native":
        pytest.skip("the kernels run through the JIT here (no C compiler)")
    manifest_path = Path(loaded.path).parent / f"kernels-{native.cache_key()}.json"
    return Path(loaded.path), json.loads(manifest_path.read_text())


@pytest.fixture
def cache(tmp_path, monkeypatch, suite_library):
    """An empty W2V_CLI_CACHE_DIR whose builds copy the suite's library; ``cache.builds``
    lists them and ``cache.notes`` the notices shown."""
    library, manifest = suite_library
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("W2V_CLI_CACHE_DIR", str(folder))
    monkeypatch.setenv("W2V_CLI_KERNELS", "native")    # a failed build must not pass as JIT
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setattr(native, "_loaded", None)
    monkeypatch.setattr(native_build, "compiler", lambda: "cc")

    class Cache:
        path = folder
        builds: list = []
        notes: list = []

        def load(self):
            native._loaded = None
            return native.kernels(notify=self.notes.append)

        def manifest(self, key=None):
            return json.loads((folder / f"kernels-{key or native.cache_key()}.json").read_text())

    def fake_build(so_path):
        Cache.builds.append(so_path)
        shutil.copyfile(library, so_path)
        return dict(manifest["symbols"])

    monkeypatch.setattr(native_build, "build_library", fake_build)
    yield Cache()
    native._loaded = None


@pytest.mark.parametrize("main, args", [
    (word2vec_main, ["-train", str(LEE), "-output", "v.bin", "-size", "10", "-iter", "1"]),
    (word2phrase_main, ["-train", str(LEE), "-output", "p.txt"]),
])
def test_a_first_run_compiles_without_a_word_under_debug_0(cache, tmp_path, main, args):
    """-debug 0 prints nothing but errors: not even the notice of the first compile."""
    native._loaded = None
    quiet = run_cli_in_process(main, [*args, "-debug", "0"], cwd=tmp_path)
    assert quiet.exit_code == 0 and quiet.stderr == b"" and quiet.stdout == b""
    assert len(cache.builds) == 1
    shutil.rmtree(cache.path)               # cold again
    cache.path.mkdir()
    native._loaded = None
    told = run_cli_in_process(main, [*args, "-debug", "1"], cwd=tmp_path)
    assert told.exit_code == 0 and len(cache.builds) == 2
    assert told.error_lines == [f"{_program(main)}: {native.COMPILING_NOTICE}"]


def _program(main) -> str:
    return "word2vec" if main is word2vec_main else "word2phrase"


def _library_files(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".so"))


def test_a_cold_cache_is_built_once_announced_once_and_world_readable(cache):
    loaded = cache.load()
    assert loaded.backend == "native" and Path(loaded.path).parent == cache.path
    assert len(cache.builds) == 1 and cache.notes == [native.COMPILING_NOTICE]
    manifest = cache.manifest()
    assert _library_files(cache.path) == [manifest["library"]]
    for name in (manifest["library"], f"kernels-{native.cache_key()}.json"):
        assert (cache.path / name).stat().st_mode & 0o777 == 0o644
    assert not [p for p in cache.path.iterdir() if p.name.endswith(".part")]
    again = cache.load()
    assert again.path == loaded.path and len(cache.builds) == 1 and len(cache.notes) == 1


def _replace(path: Path, data: bytes) -> None:
    """Damage a file as another program would, but by a rename: this test process has
    the library mapped, and changing a mapped file in place would crash it (SIGBUS)."""
    staged = path.with_name(path.name + ".damaged")
    staged.write_bytes(data)
    os.replace(staged, path)


def _truncate_library(folder, manifest):
    path = folder / manifest["library"]
    _replace(path, path.read_bytes()[:4096])


def _overwrite_library(folder, manifest):
    path = folder / manifest["library"]
    _replace(path, b"\0" * path.stat().st_size)        # same size, other bytes


def _remove_library(folder, manifest):
    (folder / manifest["library"]).unlink()


def _manifest_text(text):
    def damage(folder, manifest):
        (folder / f"kernels-{manifest['key']}.json").write_text(text)
    return damage


def _manifest_without(field):
    def damage(folder, manifest):
        del manifest[field]
        (folder / f"kernels-{manifest['key']}.json").write_text(json.dumps(manifest))
    return damage


def _missing_symbol(folder, manifest):
    manifest["symbols"]["dot_rows"] = "no_such_symbol_in_the_library"
    (folder / f"kernels-{manifest['key']}.json").write_text(json.dumps(manifest))


# damage -> whether the old manifest still names the library (so it must be deleted)
DAMAGE = {
    "truncated library": (_truncate_library, True),
    "library overwritten": (_overwrite_library, True),
    "library missing": (_remove_library, True),
    "missing symbol": (_missing_symbol, True),
    "manifest is a JSON list": (_manifest_text("[1, 2, 3]"), False),
    "manifest is not JSON": (_manifest_text("kernels\x00\xff"), False),
    "empty manifest": (_manifest_text(""), False),
    "manifest without sha256": (_manifest_without("sha256"), False),
    "manifest without symbols": (_manifest_without("symbols"), False),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_cache_is_rebuilt_and_never_loaded(cache, damage):
    cache.load()
    first = cache.manifest()
    damage_it, old_library_named = DAMAGE[damage]
    damage_it(cache.path, json.loads(json.dumps(first)))
    loaded = cache.load()
    assert loaded.backend == "native" and len(cache.builds) == 2
    rebuilt = cache.manifest()
    assert rebuilt["library"] != first["library"]
    assert Path(loaded.path) == cache.path / rebuilt["library"]
    libraries = _library_files(cache.path)
    assert rebuilt["library"] in libraries
    if old_library_named:
        # The damaged file was named by a manifest of ours: it is replaced, not kept.
        assert first["library"] not in libraries
    # The kernels work: a dot product through the reloaded library.
    import numpy as np
    unit = np.eye(3, dtype=np.float32)
    scores = np.zeros(3, dtype=np.float32)
    loaded.dot_rows(unit, np.array([0, 2, 0], dtype=np.float32),
                    np.arange(3, dtype=np.int64), scores)
    assert scores.tolist() == [0.0, 2.0, 0.0]


def test_the_cache_deletes_nothing_it_did_not_write(cache, suite_library):
    library, manifest = suite_library
    other_key = "0123456789abcdef"
    other_library = f"kernels-{other_key}-0a0b0c0d.so"
    keep = {
        "kernels-notes.txt": b"a user's notes\n",
        "kernels-x.so": b"not ours",
        f"kernels-{native.cache_key()}-0badc0de.so": b"named by no manifest",
        other_library: library.read_bytes(),
        f"kernels-{other_key}.json": json.dumps(dict(manifest, key=other_key,
                                                     library=other_library)).encode(),
    }
    for name, data in keep.items():
        (cache.path / name).write_bytes(data)
    cache.load()
    _truncate_library(cache.path, cache.manifest())     # and once more after a rebuild
    cache.load()
    assert len(cache.builds) == 2
    for name, data in keep.items():
        assert (cache.path / name).read_bytes() == data, name


def test_installs_of_different_versions_share_a_folder(cache, monkeypatch):
    paths = {}
    for key in ("a" * 16, "b" * 16, "a" * 16, "b" * 16):
        monkeypatch.setattr(native, "cache_key", lambda key=key: key)
        paths.setdefault(key, set()).add(cache.load().path)
    assert len(cache.builds) == 2                       # one build per version, then loads
    assert all(len(loaded) == 1 for loaded in paths.values())
    assert _library_files(cache.path) == sorted(os.path.basename(p.pop())
                                                for p in paths.values())


def test_a_private_temporary_folder_must_be_this_users_alone(tmp_path):
    mine = native.CacheFolder(str(tmp_path / "mine"), private=True)
    assert native._unusable_reason(mine) is None
    assert os.stat(mine.path).st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert native._unusable_reason(native.CacheFolder(str(shared), private=True)) == \
        "not a folder of this user alone"
    link = tmp_path / "link"
    link.symlink_to(mine.path)
    assert native._unusable_reason(native.CacheFolder(str(link), private=True)) == \
        "not a folder of this user alone"


def test_a_library_in_someone_elses_private_folder_is_never_loaded(cache, monkeypatch):
    """A folder named like this user's private cache but open to others may hold anyone's
    library: it is neither loaded nor built into."""
    cache.load()
    cache.path.chmod(0o777)
    monkeypatch.setattr(native, "cache_folders",
                        lambda: [native.CacheFolder(str(cache.path), private=True)])
    with pytest.raises(KernelError, match="no folder to keep the compiled kernels in"):
        cache.load()
    assert len(cache.builds) == 1
    cache.path.chmod(0o700)
    assert cache.load().path.startswith(str(cache.path)) and len(cache.builds) == 1


def test_cache_folders_in_order(monkeypatch, tmp_path):
    monkeypatch.delenv("W2V_CLI_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    assert native.cache_folders() == [
        native.CacheFolder(native.PACKAGE_CACHE),
        native.CacheFolder(str(tmp_path / "xdg" / "w2v_cli")),
        native.CacheFolder(str(tmp_path / "tmp" / f"w2v_cli-{os.geteuid()}"), private=True)]
    monkeypatch.setenv("W2V_CLI_CACHE_DIR", "relative")
    assert native.cache_folders() == [native.CacheFolder(os.path.abspath("relative"))]


def test_unknown_kernels_setting_is_refused(monkeypatch):
    monkeypatch.setenv("W2V_CLI_KERNELS", "fast")
    with pytest.raises(KernelError, match="W2V_CLI_KERNELS must be one of auto, native, jit"):
        native.kernels_mode()


def _word2vec(tmp_path, env, extra=()):
    return subprocess.run([console_script("word2vec_main"), "-train", str(LEE), "-output",
                           str(tmp_path / "v.bin"), "-size", "10", "-iter", "1", *extra],
                          cwd=tmp_path, env=dict(os.environ, **env), capture_output=True,
                          timeout=600)


def _lines(stderr: bytes):
    return [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]


def test_unknown_kernels_setting_is_one_line_from_the_command(tmp_path):
    result = _word2vec(tmp_path, {"W2V_CLI_KERNELS": "fast"})
    assert result.returncode == 1
    assert _lines(result.stderr)[1:] == [] and _lines(result.stderr) == [
        "word2vec: error: W2V_CLI_KERNELS must be one of auto, native, jit, got 'fast'"]
    assert not (tmp_path / "v.bin").exists()


def _without_compiler(tmp_path):
    """An environment with no C compiler on PATH and an empty kernel cache."""
    (tmp_path / "cache").mkdir()
    return {"PATH": str(tmp_path / "no-bin"), "CC": "",
            "W2V_CLI_CACHE_DIR": str(tmp_path / "cache")}


def test_native_kernels_without_a_compiler_fail_loudly(tmp_path):
    result = _word2vec(tmp_path, dict(_without_compiler(tmp_path), W2V_CLI_KERNELS="native"))
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        "word2vec: error: W2V_CLI_KERNELS=native, but the kernel library cannot be built: "
        "no C compiler found (install gcc or clang, or set CC)"]
    assert not (tmp_path / "v.bin").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_without_a_compiler_the_default_falls_back_to_the_jit(tmp_path):
    env = dict(_without_compiler(tmp_path), W2V_CLI_KERNELS="auto")
    shared_numba = Path(native.PACKAGE_CACHE) / "numba"
    if shared_numba.is_dir():           # the administrator's build filled Numba's cache
        env["NUMBA_CACHE_DIR"] = str(shared_numba)
    result = _word2vec(tmp_path, env, ["-debug", "0"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert (tmp_path / "v.bin").stat().st_size > 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_compile_exits_with_one_line_and_leaves_no_library(tmp_path, signum):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = dict(os.environ, W2V_CLI_CACHE_DIR=str(cache), NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    env.pop("W2V_CLI_KERNELS", None)
    # SIGINT as from a terminal, even when the suite runs as a background job.
    process = subprocess.Popen([console_script("word2vec_main"), "-train", str(LEE),
                                "-output", str(tmp_path / "v.bin")], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        notice = process.stderr.readline().decode()
        assert notice == f"word2vec: {native.COMPILING_NOTICE}\n"
        time.sleep(1.0)                 # into Numba's compile
        process.send_signal(signum)
        rest = process.stderr.read()
        code = process.wait(timeout=60)
    finally:
        process.kill()
        process.wait()
    name = signal.Signals(signum).name
    assert code == 128 + signum
    assert _lines(rest) == [f"word2vec: interrupted by {name}"]
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "v.bin").exists()


# --- what the cache key depends on ------------------------------------------------------------

PACKAGE = Path(native.__file__).resolve().parent


def test_the_key_hashes_only_what_the_library_is_compiled_from():
    kernel_sources = sorted(f"kernels/{p.name}" for p in (PACKAGE / "kernels").glob("*.py"))
    assert native.build_sources() == kernel_sources + ["native_build.py"]
    # The kernels import nothing from the rest of the package (config.py, ...).
    for source in kernel_sources:
        tree = ast.parse((PACKAGE / source).read_text())
        imported = [node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names]
        assert all(not name.startswith("w2v_cli") or name.startswith("w2v_cli.kernels")
                   for name in imported), (source, imported)


def test_editing_config_keeps_the_key_editing_a_kernel_changes_it(tmp_path):
    copy = tmp_path / "site" / "w2v_cli"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("_native", "__pycache__"))

    def key():
        done = subprocess.run([sys.executable, "-c",
                               "from w2v_cli import native; print(native.cache_key())"],
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(copy.parent)),
                              capture_output=True, timeout=60, check=True)
        return done.stdout.decode().strip()

    original = key()
    assert original == native.cache_key()
    with open(copy / "config.py", "a") as handle:
        handle.write("\n# a new help text\n")
    assert key() == original
    with open(copy / "kernels" / "constants.py", "a") as handle:
        handle.write("\n# a kernel constant changed\n")
    assert key() != original


# --- a Numba release that the native build does not fit ---------------------------------------

def test_every_private_part_of_numba_the_build_uses_is_here():
    from w2v_cli.kernels import numba_internals
    assert numba_internals.missing() == []
    numba_internals.check()


def test_a_missing_private_part_is_named_with_the_numba_version(monkeypatch):
    import numba
    from numba.core import codegen

    from w2v_cli.kernels import numba_internals
    monkeypatch.delattr(codegen.CodeLibrary, "_ensure_finalized")
    assert numba_internals.missing() == ["numba.core.codegen.CodeLibrary._ensure_finalized"]
    with pytest.raises(numba_internals.NumbaInternalsError,
                       match=rf"^Numba {numba.__version__} \(llvmlite .*\) has no "
                             r"numba\.core\.codegen\.CodeLibrary\._ensure_finalized$"):
        numba_internals.check()


# A command whose compiling process (the child build_library forks) sees a Numba whose
# cfunc keeps its code library under another name than ``_library``, as a later release
# might; this process, which runs the JIT afterwards, keeps the real one.
_RENAMED_LIBRARY = """
import os, sys
def rename_library():
    from numba.core import ccallback
    compile = ccallback.CFunc.compile
    def compile_renamed(self):
        compile(self)
        self._code_library = self.__dict__.pop("_library")
    ccallback.CFunc.compile = compile_renamed
os.register_at_fork(after_in_child=rename_library)
from w2v_cli.cli import word2vec_main
sys.argv[0] = "word2vec"
word2vec_main()
"""


@pytest.mark.parametrize("mode", ["auto", "native"])
def test_a_numba_the_build_does_not_fit_is_one_line_naming_its_version(tmp_path, mode):
    import numba
    cache = tmp_path / "cache"
    cache.mkdir()
    env = dict(os.environ, W2V_CLI_CACHE_DIR=str(cache), W2V_CLI_KERNELS=mode,
               NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    result = subprocess.run([sys.executable, "-c", _RENAMED_LIBRARY, "-train", str(LEE),
                             "-output", str(tmp_path / "v.bin"), "-size", "10", "-iter", "1",
                             "-debug", "1"], cwd=tmp_path, env=env, capture_output=True,
                            timeout=600)
    lines = [line for line in _lines(result.stderr)           # -debug 1: the notices,
             if not line.startswith(("Starting", "Vocab", "Words"))]   # not the counts
    assert "Traceback" not in result.stderr.decode(), result.stderr.decode()
    failure = (f"the native build failed: Numba {numba.__version__} (llvmlite "
               f"{native._package_version('llvmlite')}): a compiled function's LLVM module "
               f"is out of reach: 'CFunc' object has no attribute '_library'")
    if mode == "auto":              # one line, then the JIT trains
        assert lines == [f"word2vec: {native.COMPILING_NOTICE}",
                         f"word2vec: {failure}; the kernels run through Numba's JIT instead"]
        assert result.returncode == 0
        assert (tmp_path / "v.bin").stat().st_size > 0
    else:
        assert lines == [f"word2vec: {native.COMPILING_NOTICE}",
                         f"word2vec: error: W2V_CLI_KERNELS=native, but the kernel library "
                         f"cannot be built: {failure}"]
        assert result.returncode == 1
        assert not (tmp_path / "v.bin").exists()
    assert not [p for p in cache.iterdir() if p.suffix in (".so", ".json", ".part")]


@pytest.mark.slow
def test_a_full_cache_folder_is_named_once_and_the_run_goes_on(tmp_path, small_folder):
    """W2V_CLI_CACHE_DIR on a 1 MB filesystem (a tmpfs: needs root), as in a real full
    disk: the compile fails to store the library, one line names the folder and the
    reason, the run goes on through the JIT and writes its output (the JIT's own cache
    writes once made the output look unwritable)."""
    folder = small_folder
    # Numba's cache goes beside the library, as by default (an empty value is unset).
    env = {"W2V_CLI_CACHE_DIR": str(folder), "W2V_CLI_KERNELS": "auto",
           "NUMBA_CACHE_DIR": ""}
    fallback = (f"cannot keep the compiled kernels in {folder}: No space left on device; "
                f"running the kernels through Numba's JIT instead, which compiles them "
                f"again at every run")
    result = _word2vec(tmp_path, env, ["-debug", "1", "-binary", "0"])
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == [f"word2vec: {native.COMPILING_NOTICE}",
                                     f"word2vec: {fallback}"]
    assert (tmp_path / "v.bin").read_bytes().startswith(b"1763 10\n")
    query = subprocess.run([console_script("distance_main"), str(tmp_path / "v.bin")],
                           env=dict(os.environ, **env), input=b"the\n",
                           capture_output=True, timeout=600)
    assert query.returncode == 0 and b"Word: the" in query.stdout
    assert _lines(query.stderr) == [f"distance: {native.COMPILING_NOTICE}",
                                    f"distance: {fallback}"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["auto", "jit"])
def test_a_cache_folder_that_cannot_be_created_is_named_and_the_run_goes_on(tmp_path, mode):
    """W2V_CLI_CACHE_DIR naming a folder that cannot be made (here under a regular file;
    for a user, often under a folder of someone else's): one line naming it and the
    system's reason, then the kernels through the JIT, compiled in memory."""
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    folder = blocker / "cache"
    env = {"W2V_CLI_CACHE_DIR": str(folder), "W2V_CLI_KERNELS": mode, "NUMBA_CACHE_DIR": ""}
    result = _word2vec(tmp_path, env, ["-debug", "1", "-binary", "0"])
    assert result.returncode == 0, result.stderr
    told = (f"cannot keep the compiled kernels in {folder}: Not a directory; running the "
            f"kernels through Numba's JIT instead, which compiles them again at every run"
            if mode == "auto" else
            f"cannot keep the kernels Numba compiles in {folder}: Not a directory; they are "
            f"compiled again at every run")
    assert _lines(result.stderr) == [f"word2vec: {told}"]
    assert (tmp_path / "v.bin").read_bytes().startswith(b"1763 10\n")
