"""Numba kernels: arrays and scalars in, no files, strings or Python objects.

These modules import numba and are only imported to build the native kernel library
(``w2v_cli.native``) or, where no C compiler is available, to run the same functions
through Numba's JIT.  A normal run loads the prebuilt library and never imports numba.

Kernels never allocate: every output array is passed in by the caller, so the compiled
library needs no Numba runtime.
"""
