"""Compiling one kernel body more than once, under different float rules.

A kernel body is a plain Python function whose helpers are ``inline="always"``, so each
compiled variant inlines them under its own rules (``fastmath`` or not).  Each variant
is a copy of the body under its own name: Numba's on-disk cache tells functions apart by
name, and two variants of one body must not share an entry.
"""

from __future__ import annotations

import types
from typing import Optional

from numba import njit


def compile_variant(body, name: str, constants: Optional[dict] = None, **options):
    """``body`` compiled as the kernel ``name`` (nogil, numpy error model, cached).

    ``constants`` replace module-level names for this variant only: Numba reads a
    global as a compile-time constant, so a branch on one is settled when compiling.
    """
    names = body.__globals__ if not constants else {**body.__globals__, **constants}
    copy = types.FunctionType(body.__code__, names, name, body.__defaults__,
                              body.__closure__)
    copy.__qualname__ = name
    copy.__doc__ = body.__doc__
    copy.__module__ = body.__module__
    return njit(cache=True, nogil=True, error_model="numpy", _nrt=False, **options)(copy)
