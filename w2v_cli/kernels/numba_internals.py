"""Every private part of Numba that the kernels and their compiled library rely on.

Numba's public interface (``njit``, ``cfunc``, ``carray``, ``types``,
``numba.extending.intrinsic``) covers the kernels themselves.  Two things reach further,
and only through this module:

* the hand-written LLVM IR of ``rows.py``, built with Numba's code-generation helpers
  (``numba.core.cgutils``) on Numba's array structure (``context.make_array``) and its
  target context (``context.cast``, ``context.get_dummy_value``);
* the native build (``native_build.py``), which takes the LLVM module out of each compiled
  ``cfunc`` (``CFunc._library``, ``CodeLibrary._ensure_finalized``, ``_final_module``) to
  link all of them into one object.

Numba promises none of these from one release to the next.  ``check()`` looks for every one
of them before the build, and ``library_bitcode`` turns a missing one into
``NumbaInternalsError``, whose message names the Numba version; the build then fails with
that one line and the kernels run through the JIT (``native.py``).  The JIT needs only the
first group: without a code-generation helper, the batched kernel (``-batch 1``) cannot be
compiled at all, while the classic kernels still run.

The oldest Numba these were checked with is the floor in ``pyproject.toml``; CI builds and
tests the kernels on it and on the newest release (``make test-floors``, ``make test``).
"""

from __future__ import annotations

import importlib
import types as _namespaces
from typing import Any, Callable, List, Optional


def _module(name: str) -> Optional[_namespaces.ModuleType]:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Each is None where this Numba has no such module; check() then names it.
_cgutils = _module("numba.core.cgutils")
_base = _module("numba.core.base")
_codegen = _module("numba.core.codegen")


class NumbaInternalsError(RuntimeError):
    """This Numba lacks, or has changed, a private part the kernels rely on."""


def numba_version() -> str:
    """``Numba 0.68.1 (llvmlite 0.50.0)``."""
    import llvmlite
    import numba
    return f"Numba {numba.__version__} (llvmlite {llvmlite.__version__})"


# What rows.py calls on ``cgutils`` and on the target context, and what native_build.py
# calls on a compiled function's code library.
_CGUTILS = ("get_or_insert_function", "alloca_once_value", "for_range", "get_item_pointer")
_CONTEXT = ("make_array", "cast", "get_dummy_value")
_CODE_LIBRARY = ("_ensure_finalized",)


def _absent(name: str) -> Callable[..., None]:
    def absent(*args: object, **kwargs: object) -> None:
        raise NumbaInternalsError(f"{numba_version()} has no {name}")
    return absent


# The helpers rows.py builds its IR with (``from ...numba_internals import cgutils``); a
# missing one fails where it is called, not when the kernels are imported.
cgutils = _namespaces.SimpleNamespace(**{
    name: getattr(_cgutils, name, None) or _absent(f"numba.core.cgutils.{name}")
    for name in _CGUTILS})


def array_struct(context: Any, builder: Any, array_type: Any, value: Any) -> Any:
    """Numba's structure of the array ``value`` (``.data``, ``.shape``, ``.strides``)."""
    return context.make_array(array_type)(context, builder, value)


def missing() -> List[str]:
    """The private parts this Numba lacks (none, where the build works)."""
    context = getattr(_base, "BaseContext", None)
    code_library = getattr(_codegen, "CodeLibrary", None)
    return ([f"numba.core.cgutils.{name}" for name in _CGUTILS if not hasattr(_cgutils, name)]
            + [f"numba.core.base.BaseContext.{name}" for name in _CONTEXT
               if not hasattr(context, name)]
            + [f"numba.core.codegen.CodeLibrary.{name}" for name in _CODE_LIBRARY
               if not hasattr(code_library, name)])


def check() -> None:
    """Raise ``NumbaInternalsError`` naming the Numba version and every missing part."""
    gone = missing()
    if gone:
        raise NumbaInternalsError(f"{numba_version()} has no {', '.join(gone)}")


def library_bitcode(compiled: Any) -> bytes:
    """The LLVM bitcode of a compiled ``cfunc``, optimised as Numba finalises it."""
    try:
        library = compiled._library
        library._ensure_finalized()
        return library._final_module.as_bitcode()
    except AttributeError as exc:
        raise NumbaInternalsError(f"{numba_version()}: a compiled function's LLVM module is "
                                  f"out of reach: {exc}") from None
