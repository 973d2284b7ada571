"""Training on an NVIDIA GPU (``-device cuda``), with Numba's CUDA target.

``layout`` plans a kernel launch (threads, shared memory) in plain Python, so flags can
be checked before anything heavy is imported; ``probe`` finds out whether this machine
can run CUDA at all; ``kernels`` holds the CUDA kernels (it imports ``numba.cuda``, so
only a ``-device cuda`` run ever imports it).  The driver is ``backends/cuda.py``.
"""
