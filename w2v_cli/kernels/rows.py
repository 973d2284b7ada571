"""Operations on whole weight rows, written directly in LLVM IR.

Weight rows are padded to a multiple of ``ROW_LANES`` float32 (one 64-byte cache line),
and every row starts on a line boundary.  The operations here step through a row one
16-float vector at a time with vector loads, fused multiply-adds and stores, and no
scalar remainder: LLVM's own vectoriser, given a loop of unknown length over 100 floats,
runs 64 of them in vectors and the other 36 one by one, which costs as much as the
vector part.  Padding lanes hold zeros in every matrix (they start at zero and only ever
receive products with zeros), so they do not change any result.

The batched kernels use these; the classic kernels keep their scalar loops, whose order
of float32 operations ``-exact 1`` must preserve.

``prefetch_row`` asks for the cache lines of a row about to be written: training threads
share the weights (Hogwild), so the row a thread is about to update often sits, modified,
in the other core's cache; asking early overlaps that transfer with useful work.  A
prefetch is only a hint and never changes a result.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from w2v_cli.kernels.abi import ROW_LANES

_FLOAT = ir.FloatType()
_VECTOR = ir.VectorType(_FLOAT, ROW_LANES)
_INT32 = ir.IntType(32)
_INT64 = ir.IntType(64)
_ZERO = ir.Constant(_VECTOR, [0.0] * ROW_LANES)


def _vectors(context, builder, array_type, value):
    """(pointer to the row's first vector, number of vectors) of a 1-d float32 array."""
    array = context.make_array(array_type)(context, builder, value)
    count = builder.udiv(builder.extract_value(array.shape, 0), ir.Constant(_INT64, ROW_LANES))
    return builder.bitcast(array.data, _VECTOR.as_pointer()), count


def _load(builder, base, index):
    return builder.load(builder.gep(base, [index]), align=4)


def _store(builder, value, base, index):
    builder.store(value, builder.gep(base, [index]), align=4)


def _fma(builder, a, b, c):
    """a * b + c, one rounding per lane."""
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_VECTOR, [_VECTOR, _VECTOR, _VECTOR]),
        f"llvm.fma.v{ROW_LANES}f32")
    return builder.call(function, [a, b, c])


def _splat(builder, scalar):
    one = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), scalar,
                                 ir.Constant(_INT32, 0))
    return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(_INT32, ROW_LANES),
                                                        [0] * ROW_LANES))


def _sum_lanes(builder, vector):
    """The sum of a vector's lanes, by halving (a fixed order, so results repeat)."""
    width = ROW_LANES
    while width > 1:
        half = width // 2
        low = builder.shuffle_vector(vector, vector, ir.Constant(
            ir.VectorType(_INT32, half), list(range(half))))
        high = builder.shuffle_vector(vector, vector, ir.Constant(
            ir.VectorType(_INT32, half), list(range(half, width))))
        vector = builder.fadd(low, high)
        width = half
    return builder.extract_element(vector, ir.Constant(_INT32, 0))


def _accumulator(builder):
    slot = cgutils.alloca_once_value(builder, _ZERO)
    builder.store(_ZERO, slot)
    return slot


@intrinsic
def row_dot(typingctx, x, y):
    """sum(x * y) of two float32 rows of the same padded length."""
    signature = types.float32(x, y)

    def codegen(context, builder, sig, args):
        xs, count = _vectors(context, builder, sig.args[0], args[0])
        ys, _ = _vectors(context, builder, sig.args[1], args[1])
        total = _accumulator(builder)
        with cgutils.for_range(builder, count) as loop:
            i = loop.index
            builder.store(_fma(builder, _load(builder, xs, i), _load(builder, ys, i),
                               builder.load(total)), total)
        return _sum_lanes(builder, builder.load(total))

    return signature, codegen


@intrinsic
def row_dot2(typingctx, x, y0, y1):
    """(sum(x * y0), sum(x * y1)), reading ``x`` once for both."""
    signature = types.UniTuple(types.float32, 2)(x, y0, y1)

    def codegen(context, builder, sig, args):
        xs, count = _vectors(context, builder, sig.args[0], args[0])
        first, _ = _vectors(context, builder, sig.args[1], args[1])
        second, _ = _vectors(context, builder, sig.args[2], args[2])
        total0 = _accumulator(builder)
        total1 = _accumulator(builder)
        with cgutils.for_range(builder, count) as loop:
            i = loop.index
            x_i = _load(builder, xs, i)
            builder.store(_fma(builder, x_i, _load(builder, first, i),
                               builder.load(total0)), total0)
            builder.store(_fma(builder, x_i, _load(builder, second, i),
                               builder.load(total1)), total1)
        return context.make_tuple(builder, sig.return_type,
                                  [_sum_lanes(builder, builder.load(total0)),
                                   _sum_lanes(builder, builder.load(total1))])

    return signature, codegen


@intrinsic
def row_axpy(typingctx, y, a, x):
    """y += a * x (rows of the same padded length, ``a`` a float32)."""
    signature = types.void(y, a, x)

    def codegen(context, builder, sig, args):
        ys, count = _vectors(context, builder, sig.args[0], args[0])
        xs, _ = _vectors(context, builder, sig.args[2], args[2])
        factor = _splat(builder, args[1])
        with cgutils.for_range(builder, count) as loop:
            i = loop.index
            _store(builder, _fma(builder, factor, _load(builder, xs, i),
                                 _load(builder, ys, i)), ys, i)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def row_add(typingctx, y, x):
    """y += x."""
    signature = types.void(y, x)

    def codegen(context, builder, sig, args):
        ys, count = _vectors(context, builder, sig.args[0], args[0])
        xs, _ = _vectors(context, builder, sig.args[1], args[1])
        with cgutils.for_range(builder, count) as loop:
            i = loop.index
            _store(builder, builder.fadd(_load(builder, ys, i), _load(builder, xs, i)), ys, i)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def row_scale(typingctx, y, a):
    """y *= a."""
    signature = types.void(y, a)

    def codegen(context, builder, sig, args):
        ys, count = _vectors(context, builder, sig.args[0], args[0])
        factor = _splat(builder, args[1])
        with cgutils.for_range(builder, count) as loop:
            i = loop.index
            _store(builder, builder.fmul(_load(builder, ys, i), factor), ys, i)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def row_zero(typingctx, y):
    """y[:] = 0."""
    signature = types.void(y)

    def codegen(context, builder, sig, args):
        ys, count = _vectors(context, builder, sig.args[0], args[0])
        with cgutils.for_range(builder, count) as loop:
            _store(builder, _ZERO, ys, loop.index)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _prefetch_for_write(typingctx, matrix, row, column):
    """Hint: bring the cache line holding ``matrix[row, column]``, to be written."""
    signature = types.void(matrix, row, column)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        indices = [context.cast(builder, value, kind, types.intp)
                   for value, kind in zip(args[1:], sig.args[1:])]
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, indices)
        byte_pointer = ir.IntType(8).as_pointer()
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, _INT32, _INT32,
                                                            _INT32]),
            "llvm.prefetch.p0")
        # (address, 1 = for writing, 3 = keep in all cache levels, 1 = data cache)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(_INT32, 1),
                                ir.Constant(_INT32, 3), ir.Constant(_INT32, 1)])
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always")
def prefetch_row(matrix, row, size):
    """Prefetch every cache line of ``matrix[row, :size]`` for writing."""
    for column in range(0, size, ROW_LANES):
        _prefetch_for_write(matrix, row, column)
    _prefetch_for_write(matrix, row, size - 1)      # the row's last, partial line
