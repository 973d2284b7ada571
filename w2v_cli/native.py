"""The compiled kernels: built once with Numba into a shared library, then loaded with ctypes.

Why not call Numba's JIT at run time?  Loading Numba and LLVM costs about 140 MB of
memory and half a second before the first word is read, more than a whole gensim run.
So the kernels in ``w2v_cli/kernels`` are compiled ahead of time: each gets a C-callable
wrapper (Numba ``cfunc``; arrays become pointer + shape), the LLVM modules are linked
into one object for this CPU, and the system C compiler turns it into a shared library.
Later runs load that library with ctypes, never importing numba; ctypes releases the GIL
during each call, so the training threads run in parallel.

The library is cached under a key made of the kernel sources, the Numba/LLVM versions,
the Python version and the CPU's features, in ``w2v_cli/_native/`` when the package
folder is writable, else in ``~/.cache/w2v_cli``.  ``W2V_CLI_CACHE_DIR`` overrides the
place; ``W2V_CLI_KERNELS=jit`` skips the library and runs the same kernels through Numba's
JIT (also the fallback when no C compiler is found).

``python -m w2v_cli.native`` builds the library (``make install`` does it).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from w2v_cli.kernels.abi import KERNELS, Kernel

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_ARRAY_KINDS = {
    "u8": np.uint8, "i32": np.int32, "i64": np.int64, "u64": np.uint64,
    "f32": np.float32, "f64": np.float64,
}
_SCALAR_KINDS = {"i64": ctypes.c_int64, "u64": ctypes.c_uint64, "f64": ctypes.c_double}


def _parse_kind(kind: str):
    """(dtype name, number of dimensions) of an array kind, or (scalar kind, 0)."""
    if "[" in kind:
        base, dims = kind.split("[", 1)
        return base, dims.count(":")
    return kind, 0


# --- calling ------------------------------------------------------------------------------

def _checked(kernel: Kernel, values: Sequence) -> None:
    """Refuse arrays of the wrong dtype, rank or layout: a compiled kernel would corrupt memory."""
    if len(values) != len(kernel.args):
        raise TypeError(f"{kernel.name}: expected {len(kernel.args)} arguments, got {len(values)}")
    for position, (kind, value) in enumerate(zip(kernel.arg_kinds, values)):
        base, ndim = _parse_kind(kind)
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
            base, ndim = _parse_kind(kind)
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
        return self.function(*typed)


class Kernels:
    """All kernels, as attributes named after their functions; ``backend`` says how they run."""

    def __init__(self, calls: Dict[str, Callable], backend: str, path: Optional[str]) -> None:
        self.backend = backend
        self.path = path
        for name, call in calls.items():
            setattr(self, name, call)


# --- cache key and location ----------------------------------------------------------------

def _package_version(name: str) -> str:
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


def cache_key() -> str:
    digest = hashlib.sha256()
    kernel_dir = os.path.join(_PACKAGE_DIR, "kernels")
    for name in sorted(os.listdir(kernel_dir)) + ["../native.py"]:
        path = os.path.join(kernel_dir, name)
        if name.endswith(".py"):
            with open(path, "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
    for part in (_package_version("numba"), _package_version("llvmlite"), sys.version,
                 platform.platform(), _cpu_signature()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def _cache_dirs():
    override = os.environ.get("W2V_CLI_CACHE_DIR")
    if override:
        return [override]
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return [os.path.join(_PACKAGE_DIR, "_native"), os.path.join(home_cache, "w2v_cli")]


def _library_paths(key: str):
    return [(os.path.join(folder, f"kernels-{key}.so"),
             os.path.join(folder, f"kernels-{key}.json")) for folder in _cache_dirs()]


# --- building ------------------------------------------------------------------------------

# The compiled kernels refer to a few symbols of Numba's runtime besides libc and the
# Python API.  None of them is reached by our kernels: they never raise and never allocate,
# and their arrays carry no owner record, so reference counting never frees anything.
# Should one be reached after all, stop loudly rather than go on with a wrong result.
_RUNTIME_STUBS = r"""
#include <stdio.h>
#include <stdlib.h>
typedef int gil_state;
extern gil_state PyGILState_Ensure(void);
extern void PyGILState_Release(gil_state);
static void unreachable(const char *what) {
    fprintf(stderr, "w2v_cli: internal error: compiled kernel reached %s\n", what);
    abort();
}
void numba_gil_ensure(gil_state *state) { *state = PyGILState_Ensure(); }
void numba_gil_release(gil_state *state) { PyGILState_Release(*state); }
void NRT_MemInfo_call_dtor(void *meminfo) { (void)meminfo; unreachable("a deallocation"); }
void NRT_Free(void *pointer) { (void)pointer; unreachable("a deallocation"); }
void *numba_unpickle(void) { unreachable("an exception"); return 0; }
void *numba_runtime_build_excinfo_struct(void) { unreachable("an exception"); return 0; }
int numba_do_raise(void) { unreachable("an exception"); return 0; }
"""


def _wrapper_source(kernel: Kernel) -> Tuple[str, list]:
    """Source of a cfunc taking (pointer, dims...) per array, and its Numba argument types."""
    from numba import types

    params, call_args, arg_types = [], [], []
    for position, kind in enumerate(kernel.arg_kinds):
        base, ndim = _parse_kind(kind)
        numba_type = getattr(types, np.dtype(_ARRAY_KINDS.get(base, np.float64)).name
                             if ndim else {"i64": "int64", "u64": "uint64", "f64": "float64"}[base])
        name = f"a{position}"
        if ndim:
            dims = [f"{name}_d{d}" for d in range(ndim)]
            params += [name] + dims
            arg_types += [types.CPointer(numba_type)] + [types.int64] * ndim
            call_args.append(f"carray({name}, ({', '.join(dims)},))")
        else:
            params.append(name)
            arg_types.append(numba_type)
            call_args.append(name)
    source = (f"def wrapper_{kernel.name}({', '.join(params)}):\n"
              f"    return target({', '.join(call_args)})\n")
    return source, arg_types


def _compiler() -> Optional[str]:
    for candidate in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if candidate:
            program = shutil.which(candidate.split()[0])
            if program:
                return program
    return None


def use_keyed_numba_cache() -> None:
    """Point Numba's on-disk cache at a folder named after ``cache_key()``.

    Numba revalidates a cached function against its own source file only, not against
    the modules whose constants it froze in (``kernels/abi.py``): a cache written before
    such a constant changed would be loaded with the old value, and array bounds with it.
    A folder per key can never serve code compiled from other sources.  Must run before
    numba is imported; a folder the user chose (NUMBA_CACHE_DIR) is respected.
    """
    if "numba" in sys.modules or os.environ.get("NUMBA_CACHE_DIR"):
        return
    key = cache_key()
    for folder in _cache_dirs():
        target = os.path.join(folder, f"numba-{key}")
        if _writable_folder(target):
            os.environ["NUMBA_CACHE_DIR"] = target
            return


def build(so_path: str, manifest_path: str) -> None:
    """Compile every kernel and link them into the shared library ``so_path``."""
    use_keyed_numba_cache()
    import llvmlite.binding as llvm
    from numba import carray, cfunc, types

    compiler = _compiler()
    if compiler is None:
        raise RuntimeError("no C compiler found (set CC)")
    symbols: Dict[str, str] = {}
    linked = None
    for kernel in KERNELS:
        target = getattr(importlib.import_module(f"w2v_cli.kernels.{kernel.module}"),
                         kernel.function)
        source, arg_types = _wrapper_source(kernel)
        namespace = {"target": target, "carray": carray, "__name__": "w2v_cli.native_wrappers"}
        exec(source, namespace)
        result = (types.void if kernel.result == "void"
                  else {"i64": types.int64, "f64": types.float64}[kernel.result])
        compiled = cfunc(result(*arg_types), nogil=True, error_model="numpy")(
            namespace[f"wrapper_{kernel.name}"])
        library = compiled._library
        library._ensure_finalized()
        module = llvm.parse_bitcode(library._final_module.as_bitcode())
        if linked is None:
            linked = module
        else:
            linked.link_in(module)
        symbols[kernel.name] = compiled.native_name

    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
        opt=3, reloc="pic", codemodel="default")
    folder = os.path.dirname(so_path)
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="w2v-build-") as work:
        object_path = os.path.join(work, "kernels.o")
        stubs_path = os.path.join(work, "stubs.c")
        with open(object_path, "wb") as handle:
            handle.write(machine.emit_object(linked))
        with open(stubs_path, "w") as handle:
            handle.write(_RUNTIME_STUBS)
        built = os.path.join(work, "kernels.so")
        subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", built, object_path,
                        stubs_path, "-lm"], check=True, capture_output=True)
        # Publish atomically: a concurrent run sees the old state or the complete library.
        staged = tempfile.NamedTemporaryFile(dir=folder, prefix=".kernels-", suffix=".so",
                                             delete=False)
        staged.close()
        shutil.copyfile(built, staged.name)
        os.replace(staged.name, so_path)
    staged_manifest = manifest_path + f".{os.getpid()}.tmp"
    with open(staged_manifest, "w") as handle:
        json.dump({"symbols": symbols}, handle)
    os.replace(staged_manifest, manifest_path)
    _remove_stale_libraries(folder, keep=(so_path, manifest_path))


def _remove_stale_libraries(folder: str, keep) -> None:
    """Delete libraries built from older sources (a process still using one keeps its copy)."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith("kernels-") and path not in keep and os.path.isfile(path):
            try:
                os.unlink(path)
            except OSError:
                pass


# --- loading -------------------------------------------------------------------------------

_loaded: Optional[Kernels] = None
_lock = threading.Lock()
build_error: Optional[str] = None       # why the last build failed (shown by ``main``)


def _load_library(so_path: str, manifest_path: str) -> Kernels:
    with open(manifest_path) as handle:
        symbols = json.load(handle)["symbols"]
    library = ctypes.CDLL(so_path)
    calls = {kernel.name: _NativeCall(library, symbols[kernel.name], kernel)
             for kernel in KERNELS}
    return Kernels(calls, "native", so_path)


def _jit_kernels() -> Kernels:
    use_keyed_numba_cache()
    return Kernels({kernel.name: _JitCall(kernel) for kernel in KERNELS}, "jit", None)


def kernels(notify: Optional[Callable[[str], None]] = None) -> Kernels:
    """The kernels, loading (or first building) the native library.

    ``notify(message)`` is called before a build, which takes about a minute.
    """
    global _loaded, build_error
    with _lock:
        if _loaded is not None:
            return _loaded
        if os.environ.get("W2V_CLI_KERNELS") == "jit":
            _loaded = _jit_kernels()
            return _loaded
        paths = _library_paths(cache_key())
        for so_path, manifest_path in paths:
            if os.path.exists(so_path) and os.path.exists(manifest_path):
                try:
                    _loaded = _load_library(so_path, manifest_path)
                    return _loaded
                except (OSError, KeyError, ValueError):
                    pass                        # stale or damaged: rebuild below
        if notify is not None:
            notify("compiling the kernels for this machine (once; about a minute)")
        for so_path, manifest_path in paths:
            if not _writable_folder(os.path.dirname(so_path)):
                continue
            try:
                build(so_path, manifest_path)
                _loaded = _load_library(so_path, manifest_path)
                return _loaded
            except subprocess.CalledProcessError as exc:
                build_error = exc.stderr.decode("utf-8", "replace").strip() or str(exc)
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                build_error = f"{type(exc).__name__}: {exc}"
        _loaded = _jit_kernels()
        return _loaded


def _writable_folder(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def main() -> None:
    """``python -m w2v_cli.native``: build (if needed) and report the kernel library."""
    loaded = kernels(notify=lambda message: print(message, file=sys.stderr))
    print(f"kernels: {loaded.backend} {loaded.path or ''}".rstrip())
    if loaded.backend != "native" and build_error:
        print(f"native build failed: {build_error}", file=sys.stderr)


if __name__ == "__main__":
    main()
