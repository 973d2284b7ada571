"""Compiling the kernels into one shared library: what the library is built from.

Each kernel of ``w2v_cli/kernels`` gets a C-callable wrapper (a Numba ``cfunc``; arrays
become pointer + shape), the LLVM modules are linked into one object for this CPU, and the
system C compiler turns it into a shared library.  ``native.py`` decides where the library
goes and loads it; this module only compiles (in a child process: see ``build_library``).

The library cache key hashes this file and ``w2v_cli/kernels/*.py`` (see
``native.cache_key``), so everything the library's bytes depend on lives in those files:
the exported kernels and their signatures (``kernels/abi.py``), the wrappers, the runtime
stubs, the flags.
Numba is imported only inside ``build_library``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from typing import Dict, List, Optional, Tuple

from w2v_cli.kernels.abi import KERNELS, Kernel, parse_kind

_NUMPY_NAMES = {"u8": "uint8", "i32": "int32", "i64": "int64", "u64": "uint64",
                "f32": "float32", "f64": "float64"}


class BuildError(RuntimeError):
    """The library could not be compiled here (no C compiler, or the compiler failed)."""


class NumbaError(BuildError):
    """The compile failed inside Numba or LLVM: this Numba lacks or changed a private part
    that the build relies on (``kernels/numba_internals.py``), or its compile of the
    kernels fails.  The message names the Numba version."""


class StorageError(BuildError):
    """A file of the build could not be written: ``folder`` says where, ``reason`` why
    (the system's words, e.g. "No space left on device")."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"cannot write in {folder}: {reason}")
        self.folder = folder
        self.reason = reason


def _storage_error(folder: str, exc: OSError) -> StorageError:
    return StorageError(folder, exc.strerror or str(exc))


def disable_numba_cache() -> None:
    """Keep what Numba compiles in memory only: its cache folder cannot take files.

    Numba stores each kernel it compiles (``cache=True``) and a failed store raises, so
    a full or read-only cache folder would fail every kernel call.  The kernel modules
    imported from now on get no cache, and those imported already lose theirs (Numba's
    ``NullCache``, what a dispatcher has before ``enable_caching``).
    """
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    global _numba_cache_disabled
    if not _numba_cache_disabled:
        Dispatcher.enable_caching = lambda self: None       # type: ignore[assignment]
        _numba_cache_disabled = True
    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith("w2v_cli.kernels."):
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher):
                    value._cache = NullCache()


_numba_cache_disabled = False



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
        base, ndim = parse_kind(kind)
        numba_type = getattr(types, _NUMPY_NAMES[base] if ndim
                             else {"i64": "int64", "u64": "uint64", "f64": "float64"}[base])
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


def compiler() -> Optional[str]:
    """The C compiler that links the library: ``$CC``, Python's own, or cc/gcc/clang."""
    for candidate in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if candidate:
            program = shutil.which(candidate.split()[0])
            if program:
                return program
    return None


def require_compiler() -> str:
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler found (install gcc or clang, or set CC)")
    return cc


def build_library(so_path: str) -> Dict[str, str]:
    """Compile every kernel into the shared library ``so_path``; returns kernel -> symbol.

    The compile runs in a forked child in a session of its own: SIGINT or SIGTERM then
    stop it at once and whole (a KeyboardInterrupt raised inside Numba's or LLVM's
    callbacks is swallowed, or leaves them broken), the child and its C compiler are killed
    before the caller removes the unfinished file, and this process never loads Numba.
    Forking, not starting the interpreter again, keeps the very modules and paths of this
    process (and works where the interpreter cannot be executed again, as in some
    sandboxes).  Numba's cache folder comes from the environment (``NUMBA_CACHE_DIR``).
    """
    require_compiler()
    if not hasattr(os, "fork"):
        return compile_library(so_path)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        _compile_in_child(so_path, reader, writer)     # never returns
    os.close(writer)
    chunks = []
    try:
        with os.fdopen(reader, "rb") as answers:
            chunks.append(answers.read())
        _, status = os.waitpid(pid, 0)
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)     # the child's session: it and its compiler
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        raise
    answer = b"".join(chunks).decode("utf-8", "replace")
    kind, _, text = answer.partition(" ")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and kind == "symbols":
        return json.loads(text)
    if kind == "numba":
        raise NumbaError(text.strip())
    if kind == "error":
        raise BuildError(text.strip())
    if kind == "storage":
        folder, _, reason = text.partition("\0")
        raise StorageError(folder, reason)
    how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
           else f"status {os.WEXITSTATUS(status)}")
    raise BuildError(f"the compiling process ended with {how}")


def _compile_in_child(so_path: str, reader: int, writer: int) -> None:
    code = 1
    try:
        os.close(reader)
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        quiet = os.open(os.devnull, os.O_WRONLY)      # Numba's warnings go nowhere
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        try:
            answer = "symbols " + json.dumps(compile_library(so_path))
            code = 0
        except NumbaError as exc:
            answer = f"numba {exc}"
        except StorageError as exc:
            answer = f"storage {exc.folder}\0{exc.reason}"
        except BuildError as exc:
            answer = f"error {exc}"
        except BaseException as exc:
            answer = f"error {type(exc).__name__}: {exc}"
        os.write(writer, answer.encode("utf-8", "replace"))
    finally:
        os._exit(code)          # no atexit handlers: they belong to the parent


def _compile_kernels(llvm, carray, cfunc, types, library_bitcode, so_path: str):
    """Every kernel's cfunc wrapper compiled by Numba, linked into one LLVM module;
    returns (the module, kernel -> symbol)."""
    symbols: Dict[str, str] = {}
    linked = None
    for kernel in KERNELS:
        importlib.import_module(f"w2v_cli.kernels.{kernel.module}")
    for kernel in KERNELS:
        target = getattr(importlib.import_module(f"w2v_cli.kernels.{kernel.module}"),
                         kernel.function)
        source, arg_types = _wrapper_source(kernel)
        namespace = {"target": target, "carray": carray, "__name__": "w2v_cli.native_wrappers"}
        exec(source, namespace)
        result = (types.void if kernel.result == "void"
                  else {"i64": types.int64, "f64": types.float64}[kernel.result])
        make = cfunc(result(*arg_types), nogil=True, error_model="numpy")
        try:
            compiled = make(namespace[f"wrapper_{kernel.name}"])
        except OSError as exc:
            # Numba could not store a kernel in its cache (the kernels do no I/O).  In
            # the library's own folder that dooms the library too: stop now.  Elsewhere
            # (NUMBA_CACHE_DIR) the library does not need it: compile on without it.
            numba_folder = os.environ.get("NUMBA_CACHE_DIR", "")
            library_folder = os.path.dirname(os.path.abspath(so_path))
            if numba_folder and os.path.abspath(numba_folder).startswith(
                    library_folder.rstrip(os.sep) + os.sep):
                raise _storage_error(library_folder, exc) from None
            disable_numba_cache()
            compiled = make(namespace[f"wrapper_{kernel.name}"])
        module = llvm.parse_bitcode(library_bitcode(compiled))
        if linked is None:
            linked = module
        else:
            linked.link_in(module)
        symbols[kernel.name] = compiled.native_name
    return linked, symbols


def compile_library(so_path: str) -> Dict[str, str]:
    """The compile itself, in this process (``build_library`` runs it in a child)."""
    cc = require_compiler()

    import llvmlite.binding as llvm
    from numba import carray, cfunc, types

    from w2v_cli.kernels import numba_internals

    try:
        numba_internals.check()
        linked, symbols = _compile_kernels(llvm, carray, cfunc, types,
                                           numba_internals.library_bitcode, so_path)
        machine = llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
            opt=3, reloc="pic", codemodel="default")
        kernel_object = machine.emit_object(linked)
    except numba_internals.NumbaInternalsError as exc:
        raise NumbaError(f"the native build failed: {exc}") from None
    except BuildError:
        raise                           # a folder that cannot take a file: named already
    except Exception as exc:
        # Numba's or LLVM's own error, often many lines long: its first line.
        lines = str(exc).strip().splitlines()
        raise NumbaError(f"the native build failed: {numba_internals.numba_version()}: "
                         f"{type(exc).__name__}: {lines[0] if lines else ''}") from None

    temporary = tempfile.gettempdir()
    try:
        work_folder = tempfile.TemporaryDirectory(prefix="w2v-build-")
    except OSError as exc:
        raise _storage_error(temporary, exc) from None
    with work_folder as work:
        # Linked in the temporary folder, then copied: a failure to store the library
        # is then an OSError that names the cache folder, not a line of the linker's.
        object_path = os.path.join(work, "kernels.o")
        stubs_path = os.path.join(work, "stubs.c")
        linked_path = os.path.join(work, "kernels.so")
        try:
            with open(object_path, "wb") as handle:
                handle.write(kernel_object)
            with open(stubs_path, "w") as handle:
                handle.write(_RUNTIME_STUBS)
        except OSError as exc:
            raise _storage_error(temporary, exc) from None
        command: List[str] = [cc, "-shared", "-fPIC", "-O2", "-o", linked_path, object_path,
                              stubs_path, "-lm"]
        try:
            subprocess.run(command, check=True, capture_output=True)
        except subprocess.CalledProcessError as exc:
            output = exc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise BuildError(f"{os.path.basename(cc)} failed: "
                             f"{output[-1] if output else f'exit status {exc.returncode}'}") \
                from None
        except OSError as exc:
            raise BuildError(f"cannot run {cc}: {exc.strerror or exc}") from None
        try:
            shutil.copyfile(linked_path, so_path)
        except OSError as exc:
            raise _storage_error(os.path.dirname(os.path.abspath(so_path)), exc) from None
    return symbols
