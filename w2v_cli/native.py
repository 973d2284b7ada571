"""The compiled kernels: built once into a shared library, cached, loaded with ctypes.

Why not call Numba's JIT at run time?  Loading Numba and LLVM costs more memory and
start-up time than a whole gensim run on a small corpus (docs/installation.md has the
figures).  So the kernels in ``w2v_cli/kernels`` are compiled ahead of time into one
shared library (``native_build.py``); later runs load it with ctypes, never importing
numba.  ctypes releases the GIL during each call, so the training threads run in
parallel.

Where the library is kept.  ``W2V_CLI_CACHE_DIR``, when set, is the only place.  Otherwise
a library is looked for, and the first build goes, in the first of these that works:

* ``w2v_cli/_native/`` in the package folder, so that one ``python -m w2v_cli.native`` by
  whoever installed the package serves every user (its files are world-readable);
* ``$XDG_CACHE_HOME/w2v_cli`` or ``~/.cache/w2v_cli``;
* ``$TMPDIR/w2v_cli-<uid>`` (or ``/tmp``), a folder of this user alone: for a user
  without a writable home on a read-only install.

A folder holds, per cache key, a manifest ``kernels-<key>.json`` naming the library
``kernels-<key>-<nonce>.so`` with its size, SHA-256 and symbols.  The library is checked
against the manifest before it is mapped, so a truncated or altered file is rebuilt,
never loaded.  No file is ever rewritten in place (a process that has a library mapped
would crash): a build writes a new library under a new name and then replaces the
manifest by a rename.  The cache deletes only files it wrote itself: the unfinished
library of a failed or interrupted build, and the library that the replaced manifest of
the same key named.  Libraries of other keys (other versions sharing the folder) are left
alone.  Builds in one folder take turns (a lock on the folder), so two first runs compile
once.

``W2V_CLI_KERNELS`` chooses the backend: ``auto`` (the default) uses the library and falls
back to Numba's JIT when the library cannot be built here (silently without a C compiler;
with one line naming the Numba version when the build fails inside Numba, as it does when
a release drops a private part the build relies on: ``kernels/numba_internals.py``);
``native`` uses the library or fails with a one-line error; ``jit`` runs the same kernels
through Numba's JIT.

``python -m w2v_cli.native`` builds the library (``make install`` does it).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import importlib
import json
import os
import platform
import re
import secrets
import signal
import stat
import sys
import sysconfig
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from w2v_cli import __version__, environment, native_build
from w2v_cli.errors import KernelError
from w2v_cli.kernels.abi import KERNELS, Kernel, parse_kind
from w2v_cli.native_build import BuildError

__all__ = ["KERNELS", "Kernel", "Kernels", "cache_key", "cache_folders", "kernels",
           "kernels_mode", "main"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE_CACHE = os.path.join(_PACKAGE_DIR, "_native")
KERNELS_ENV = environment.KERNELS
CACHE_ENV = environment.CACHE_DIR
KERNELS_MODES = environment.KERNELS_MODES

# What a first run says before the build (its measured time: docs/installation.md).
COMPILING_NOTICE = ("compiling the kernels for this machine, once "
                    "(about half a minute); later runs start at once")

_ARRAY_KINDS = {
    "u8": np.uint8, "i32": np.int32, "i64": np.int64, "u64": np.uint64,
    "f32": np.float32, "f64": np.float64,
}
_SCALAR_KINDS = {"i64": ctypes.c_int64, "u64": ctypes.c_uint64, "f64": ctypes.c_double}


# --- calling ------------------------------------------------------------------------------

def _checked(kernel: Kernel, values: Sequence) -> None:
    """Refuse arrays of the wrong dtype, rank or layout: a compiled kernel would corrupt memory."""
    if len(values) != len(kernel.args):
        raise TypeError(f"{kernel.name}: expected {len(kernel.args)} arguments, got {len(values)}")
    for position, (kind, value) in enumerate(zip(kernel.arg_kinds, values)):
        base, ndim = parse_kind(kind)
        if ndim:
            if not (isinstance(value, np.ndarray) and value.dtype == _ARRAY_KINDS[base]
                    and value.ndim == ndim and value.flags.c_contiguous):
                got = (f"{value.dtype}[{value.ndim}d, contiguous={value.flags.c_contiguous}]"
                       if isinstance(value, np.ndarray) else type(value).__name__)
                raise TypeError(f"{kernel.name}: argument {position} must be a C-contiguous "
                                f"{kind} array, got {got}")


class _NativeCall:
    """A kernel of the shared library, called with numpy arrays and Python numbers."""

    def __init__(self, library: ctypes.CDLL, symbol: str, kernel: Kernel) -> None:
        self.kernel = kernel
        self.function = library[symbol]
        argtypes = []
        self._plan = []
        for kind in kernel.arg_kinds:
            base, ndim = parse_kind(kind)
            if ndim:
                argtypes.append(ctypes.c_void_p)
                argtypes.extend([ctypes.c_int64] * ndim)
            else:
                argtypes.append(_SCALAR_KINDS[base])
            self._plan.append(ndim)
        self.function.argtypes = argtypes
        self.function.restype = (None if kernel.result == "void"
                                 else _SCALAR_KINDS[kernel.result])

    def __call__(self, *values):
        _checked(self.kernel, values)
        flat = []
        for ndim, value in zip(self._plan, values):
            if ndim:
                flat.append(value.ctypes.data)
                flat.extend(value.shape)
            else:
                flat.append(value)
        return self.function(*flat)


_JIT_SCALARS = {"i64": np.int64, "u64": np.uint64, "f64": np.float64}


class _JitCall:
    """The same kernel through Numba's JIT (no C compiler, or ``W2V_CLI_KERNELS=jit``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        module = importlib.import_module(f"w2v_cli.kernels.{kernel.module}")
        self.function = getattr(module, kernel.function)

    def __call__(self, *values):
        _checked(self.kernel, values)
        # Scalars get the declared Numba types, so each kernel compiles only once.
        typed = [(_JIT_SCALARS[kind](value) if kind in _JIT_SCALARS else value)
                 for kind, value in zip(self.kernel.arg_kinds, values)]
        try:
            return self.function(*typed)
        except OSError as exc:
            # The kernels do no I/O: Numba failed to store what it compiled in its cache
            # folder (full, read-only), before running anything.  Say so once, naming
            # that folder, and compile on without the cache.
            _numba_cache_failed(exc)
            return self.function(*typed)


_numba_cache_told = False


def _numba_cache_failed(exc: OSError) -> None:
    global _numba_cache_told
    with _cache_lock:
        native_build.disable_numba_cache()
        if _numba_cache_told:
            return
        _numba_cache_told = True
    folder = os.environ.get("NUMBA_CACHE_DIR") or "Numba's cache folder"
    if exc.filename and not _inside(str(exc.filename), folder):
        folder = os.path.dirname(str(exc.filename))
    _notify_jit(f"cannot keep the kernels Numba compiles in {folder}: "
                f"{exc.strerror or exc}; compiling them again at every run")


_cache_lock = threading.Lock()


def _notify_jit(message: str) -> None:
    (_jit_notify or _notice)(message)


_jit_notify: Optional[Callable[[str], None]] = None    # the notify of the JIT's run


class Kernels:
    """All kernels, as attributes named after their functions; ``backend`` says how they run
    ("native" or "jit") and ``path`` which library file was loaded."""

    def __init__(self, calls: Dict[str, Callable], backend: str, path: Optional[str]) -> None:
        self.backend = backend
        self.path = path
        for name, call in calls.items():
            setattr(self, name, call)

    if TYPE_CHECKING:       # the kernels, set above: one attribute per name in KERNELS
        def __getattr__(self, name: str) -> Callable[..., Any]: ...


# --- cache key -----------------------------------------------------------------------------

def _package_version(name: str) -> str:
    """The installed version of distribution ``name`` (a plain name such as numba).

    Read from the name of its ``<name>-<version>.dist-info`` folder on ``sys.path``, as
    installers write it: importing ``importlib.metadata`` alone costs about 20 ms, paid
    at every run, for this one fact.  Anything else is asked of importlib.metadata.
    """
    prefix = name.replace("-", "_") + "-"
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(".dist-info"):
                return entry[len(prefix):-len(".dist-info")]
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def _cpu_signature() -> str:
    """The CPU's model and instruction-set flags (a library built for AVX-512 must not be
    loaded on a CPU without it)."""
    try:
        with open("/proc/cpuinfo", "rb") as handle:
            lines = handle.read().decode("ascii", "replace").splitlines()
        wanted = [line for line in lines if line.startswith(("model name", "flags", "Features",
                                                             "CPU part"))]
        return "\n".join(sorted(set(wanted)))
    except OSError:
        return platform.machine() + platform.processor()


def _libc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return ""


def build_sources() -> List[str]:
    """The files the library is compiled from, relative to the package folder."""
    kernel_dir = os.path.join(_PACKAGE_DIR, "kernels")
    return ([f"kernels/{name}" for name in sorted(os.listdir(kernel_dir))
             if name.endswith(".py")] + ["native_build.py"])


def cache_key() -> str:
    """A hash of everything the library's bytes depend on: the kernel sources and the
    build code (not the rest of the package: a new message must not force a rebuild),
    the Numba and LLVM versions, the Python ABI, the system and the CPU."""
    digest = hashlib.sha256()
    for relative in build_sources():
        with open(os.path.join(_PACKAGE_DIR, relative), "rb") as handle:
            digest.update(relative.encode() + b"\0" + handle.read() + b"\0")
    # The Python ABI, not the exact version: a patch release changes nothing the library
    # links against, and one install may run under two builds of the same Python.
    python_abi = sysconfig.get_config_var("SOABI") or sys.implementation.cache_tag or ""
    for part in (_package_version("numba"), _package_version("llvmlite"), python_abi,
                 platform.system(), platform.machine(), _libc(), _cpu_signature()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


# --- cache folders ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CacheFolder:
    path: str
    private: bool = False      # in a shared temporary folder: must belong to this user alone


def cache_folders() -> List[CacheFolder]:
    """Where libraries are looked for and built, in order (see the module docstring)."""
    override = environment.cache_dir()
    if override:
        return [CacheFolder(override)]
    folders = [CacheFolder(PACKAGE_CACHE)]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if os.path.isabs(base):
        folders.append(CacheFolder(os.path.join(base, "w2v_cli")))
    temporary = os.environ.get("TMPDIR") or "/tmp"
    folders.append(CacheFolder(os.path.join(temporary, f"w2v_cli-{os.geteuid()}"), private=True))
    return folders


def _trusted(folder: CacheFolder) -> bool:
    """Anyone may create names in /tmp: a private folder is used (even only read) when it
    is a real folder of this user that nobody else may enter."""
    if not folder.private:
        return True
    try:
        info = os.lstat(folder.path)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o077)


def _unusable_reason(folder: CacheFolder) -> Optional[str]:
    """Create ``folder`` if needed; why this process cannot write there (the system's
    reason where it gave one), or None when it can."""
    try:
        if folder.private:
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder.path, 0o700)
            if not _trusted(folder):
                return "not a folder of this user alone"
        elif not os.path.isdir(folder.path):
            os.makedirs(folder.path)
            if folder.path == PACKAGE_CACHE:
                os.chmod(folder.path, 0o755)    # every user reads it, whatever the umask
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if os.access(folder.path, os.W_OK | os.X_OK) else "not writable"


def _first_usable_folder() -> Tuple[Optional[str], List[str]]:
    """The first cache folder this process can write to (None if none), and why each
    one before it could not (``"path: reason"``)."""
    passed_over = []
    for folder in cache_folders():
        reason = _unusable_reason(folder)
        if reason is None:
            return folder.path, passed_over
        passed_over.append(f"{folder.path}: {reason}")
    return None, passed_over


# --- manifests -------------------------------------------------------------------------------

_MANIFEST_FORMAT = 1
_MANIFEST_LIMIT = 1 << 20       # a manifest is a few kB; anything larger is not ours


def _manifest_path(folder: str, key: str) -> str:
    return os.path.join(folder, f"kernels-{key}.json")


def _library_name_pattern(key: str) -> str:
    return rf"kernels-{re.escape(key)}-[0-9a-f]{{8}}\.so"


def _well_formed(manifest, key: str) -> bool:
    if not isinstance(manifest, dict):
        return False
    library, size, sha = manifest.get("library"), manifest.get("size"), manifest.get("sha256")
    symbols = manifest.get("symbols")
    return (manifest.get("format") == _MANIFEST_FORMAT and manifest.get("key") == key
            and isinstance(library, str) and re.fullmatch(_library_name_pattern(key), library)
            is not None
            and type(size) is int and size > 0
            and isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha) is not None
            and isinstance(symbols, dict)
            and all(isinstance(symbols.get(kernel.name), str) for kernel in KERNELS))


def _read_manifest(folder: str, key: str) -> Optional[dict]:
    """The manifest of ``key`` in ``folder``; None when absent, unreadable or malformed."""
    try:
        with open(_manifest_path(folder, key), "rb") as handle:
            raw = handle.read(_MANIFEST_LIMIT + 1)
        manifest = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return None
    return manifest if _well_formed(manifest, key) else None


def _write_manifest(folder: str, key: str, manifest: dict) -> None:
    """Replace the manifest by a rename: readers see the old one or the new one, whole."""
    descriptor, staged = tempfile.mkstemp(dir=folder, prefix=f".kernels-{key}-",
                                          suffix=".json.part")
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
        os.chmod(staged, 0o644)
        os.replace(staged, _manifest_path(folder, key))
    except BaseException:
        _remove_quietly(staged)
        raise


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# --- loading and building ----------------------------------------------------------------------

def _load(path: str, symbols: Dict[str, str]) -> Kernels:
    library = ctypes.CDLL(path)
    calls = {kernel.name: _NativeCall(library, symbols[kernel.name], kernel)
             for kernel in KERNELS}
    return Kernels(calls, "native", path)


def _load_cached(folder: str, key: str) -> Optional[Kernels]:
    """The library of ``key`` in ``folder`` if its manifest is sound and it matches it."""
    manifest = _read_manifest(folder, key)
    if manifest is None:
        return None
    path = os.path.join(folder, manifest["library"])
    try:
        with open(path, "rb") as handle:
            data = handle.read(manifest["size"] + 1)
    except OSError:
        return None
    if len(data) != manifest["size"] or hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        return None                     # truncated or altered: never map it
    try:
        return _load(path, manifest["symbols"])
    except (OSError, AttributeError):   # not loadable here, or a symbol is missing
        return None


class _FolderUnusable(Exception):
    """A build could not be stored or loaded in one folder; the next one may do."""

    def __init__(self, folder: str, reason: str, storage: bool = False) -> None:
        super().__init__(f"{folder}: {reason}")
        self.folder = folder
        self.reason = reason
        self.storage = storage          # the folder cannot take files (full, read-only)


class NoCacheFolder(BuildError):
    """No folder could keep a built library; ``unusable`` holds each folder's
    ``_FolderUnusable``."""

    def __init__(self, unusable: List[_FolderUnusable], hint: str) -> None:
        super().__init__("no folder to keep the compiled kernels in ("
                         + "; ".join(map(str, unusable)) + hint + ")")
        self.unusable = unusable


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@contextlib.contextmanager
def _folder_lock(folder: str) -> Iterator[None]:
    """Builds in one folder take turns; a process waiting here then finds the library."""
    try:
        import fcntl
        descriptor = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):      # a filesystem without locks: go on
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def prepare_numba(folder: str) -> None:
    """Give Numba's own cache (``cache=True`` on every kernel) a writable folder before numba
    is imported, here or in the compiling process: its defaults, beside the sources and in
    ``~/.cache``, are not writable on a read-only install for a user without a home.

    The folder is named after ``cache_key()``: Numba revalidates a cached function against
    its own source file only, not against the modules whose constants it froze in
    (``kernels/abi.py``), so a cache written before such a constant changed would serve
    code with the old value, array bounds included.  A folder per key never can.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(folder, f"numba-{cache_key()}")


def _build_into(folder: str, key: str, notify: Callable[[str], None]) -> Kernels:
    with _folder_lock(folder):
        found = _load_cached(folder, key)
        if found is not None:
            return found                # another process built it while we waited
        previous = _read_manifest(folder, key)
        prepare_numba(folder)
        name = f"kernels-{key}-{secrets.token_hex(4)}.so"
        path = os.path.join(folder, name)
        unfinished = path + ".part"
        try:
            symbols = native_build.build_library(unfinished)
            os.chmod(unfinished, 0o644)
            os.replace(unfinished, path)
        except native_build.StorageError as exc:
            if not _inside(exc.folder, folder):
                raise                   # another folder (the temporary one): not this one's
            raise _FolderUnusable(folder, exc.reason, storage=True) from None
        except OSError as exc:
            raise _FolderUnusable(folder, exc.strerror or str(exc), storage=True) from None
        finally:
            _remove_quietly(unfinished)
        try:
            loaded = _load(path, symbols)
            with open(path, "rb") as handle:
                data = handle.read()
        except (OSError, AttributeError) as exc:
            _remove_quietly(path)
            raise _FolderUnusable(folder, f"cannot load the library built there: {exc}") \
                from None
        manifest = {"format": _MANIFEST_FORMAT, "key": key, "library": name,
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                    "symbols": symbols, "w2v_cli": __version__}
        try:
            _write_manifest(folder, key, manifest)
        except OSError as exc:
            _remove_quietly(path)       # still loaded here; the next run builds again
            notify(f"cannot keep the compiled kernels in {folder}: {exc.strerror or exc} "
                   f"(this run uses them; the next one compiles them again)")
            return loaded
        if previous is not None and previous["library"] != name:
            # Unusable (else it would have loaded) and named by our own manifest.
            _remove_quietly(os.path.join(folder, previous["library"]))
        return loaded


def _native_kernels(notify: Callable[[str], None]) -> Kernels:
    key = cache_key()
    folders = cache_folders()
    for folder in folders:
        found = _load_cached(folder.path, key) if _trusted(folder) else None
        if found is not None:
            return found
    native_build.require_compiler()     # fail before announcing a build that cannot happen
    unusable: List[_FolderUnusable] = []
    announced = False
    for folder in folders:
        reason = _unusable_reason(folder)
        if reason is not None:
            unusable.append(_FolderUnusable(folder.path, reason))
            continue
        if not announced:               # once, and only when a build is really tried
            notify(COMPILING_NOTICE)
            announced = True
        try:
            return _build_into(folder.path, key, notify)
        except _FolderUnusable as exc:
            unusable.append(exc)
    hint = "" if environment.cache_dir() else f"; set {CACHE_ENV}"
    raise NoCacheFolder(unusable, hint)


def _jit_kernels(cache: bool = True,
                 notify: Optional[Callable[[str], None]] = None) -> Kernels:
    """The kernels through Numba's JIT; ``cache=False`` when the folder Numba would
    store them in cannot take files (each run then compiles what it uses).  With no
    usable folder at all, ``notify`` (if given) is told why, naming each folder."""
    folder, passed_over = _first_usable_folder()
    if folder is None or not cache:
        # Nowhere to keep what Numba compiles: it compiles in memory, at every run.
        native_build.disable_numba_cache()
        if folder is None and notify is not None:
            notify(f"cannot keep the kernels Numba compiles in {'; '.join(passed_over)}; "
                   f"they are compiled again at every run")
    else:
        prepare_numba(folder)
    return Kernels({kernel.name: _JitCall(kernel) for kernel in KERNELS}, "jit", None)


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("-c", "-m") and not name.endswith(".py") else "w2v_cli"


def _notice(message: str) -> None:
    """One line on stderr, named after the running command; never fails the run."""
    try:
        sys.stderr.write(f"{_program()}: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def kernels_mode() -> str:
    """``W2V_CLI_KERNELS``: auto (unset), native or jit."""
    return environment.kernels_mode()


_loaded: Optional[Kernels] = None
_lock = threading.Lock()
build_error: Optional[str] = None       # why the last build failed, if not yet told (``main``)


def kernels(notify: Optional[Callable[[str], None]] = None) -> Kernels:
    """The kernels, loading (or first building) the native library.

    ``notify(message)`` is called once before a build (default: one line on stderr).
    Raises ``KernelError`` when ``W2V_CLI_KERNELS`` asks for what cannot be had.
    """
    global _loaded, build_error, _jit_notify
    with _lock:
        if _loaded is not None:
            return _loaded
        notify = notify or _notice
        _jit_notify = notify
        mode = kernels_mode()
        if mode == "jit":
            _loaded = _jit_kernels(notify=notify)
            return _loaded
        try:
            _loaded = _native_kernels(notify)
        except BuildError as exc:
            if mode == "native":
                raise KernelError(f"{KERNELS_ENV}=native, but the kernel library cannot be "
                                  f"built: {exc}") from None
            if isinstance(exc, native_build.NumbaError):
                # A Numba release the build does not fit: say so, once, and run anyway.
                notify(f"{exc}; the kernels run through Numba's JIT instead")
                _loaded = _jit_kernels()
            else:
                build_error = str(exc)
                problem, cache_full = _storage_problem(exc)
                _loaded = _jit_kernels(cache=not cache_full)
                if problem:             # the user can fix this one: say what and where
                    notify(f"{problem}; running the kernels through Numba's JIT instead, "
                           f"which compiles them again at every run")
        return _loaded


def _storage_problem(exc: BuildError) -> tuple[str, bool]:
    """(what to tell, whether the cache folders are what failed) for a build that could
    not write its files; ("", False) when it failed otherwise (no C compiler: the
    documented, silent fall-back to the JIT)."""
    if isinstance(exc, native_build.StorageError):      # the build's temporary folder
        return f"cannot compile the kernels: {exc}", False
    if isinstance(exc, NoCacheFolder):
        # Every folder failed (full, read-only, or one that cannot be created).
        hint = "" if environment.cache_dir() else f" (set {CACHE_ENV} to a writable folder)"
        return (f"cannot keep the compiled kernels in "
                f"{'; '.join(map(str, exc.unusable))}{hint}"), True
    return "", False


def main() -> None:
    """``python -m w2v_cli.native``: build (if needed) and report the kernel library."""
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        loaded = kernels(notify=lambda message: print(message, file=sys.stderr, flush=True))
    except KernelError as exc:
        print(f"w2v_cli.native: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("w2v_cli.native: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"kernels: {loaded.backend} {loaded.path or ''}".rstrip())
    if loaded.backend != "native" and build_error:
        print(f"native build failed: {build_error}", file=sys.stderr)


if __name__ == "__main__":
    main()
