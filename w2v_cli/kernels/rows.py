"""Operations on whole weight rows, written directly in LLVM IR.

Weight rows are padded to a multiple of ``ROW_LANES`` float32 (one 64-byte cache line),
and every row starts on a line boundary.  The operations here step through a row one
16-float vector at a time with vector loads, fused multiply-adds and stores, and no
scalar remainder: LLVM's own vectoriser, given a loop of unknown length over 100 floats,
runs 64 of them in vectors and the other 36 one by one, which costs as much as the
vector part.  Padding lanes hold zeros in every matrix (they start at zero and only ever
receive products with zeros), so they do not change any result.

The batched kernel uses them throughout.  The classic kernels use the ones that keep
the C tool's order of float32 operations in both variants (CBOW's sum of its context
rows, ``row_set_combination`` and ``row_combine`` with unit coefficients, and
``rows_add``), and the others (``row_dots``, ``row_exchange``,
``row_exchange_and_add``) in the fast variant only, where ``-exact 1`` keeps scalar
loops in the C order.

``prefetch_row`` asks for the cache lines of a row about to be written: training threads
share the weights (Hogwild), so the row a thread is about to update often sits, modified,
in the other core's cache; asking early overlaps that transfer with useful work.
``prefetch_row_early`` asks for a row needed one step later (the next pair's or window's
negatives) as far as the second-level cache only, to be read: a row is 19 lines at 300
dimensions, and asking for every line of the next step's rows into the first level as
well was slower, most likely because it filled the core's queue of outstanding misses,
so that the rows needed now waited behind them (docs/experiments.md, "The next step's
rows into the second-level cache").  A prefetch is only a hint and never changes a result.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from w2v_cli.kernels.abi import ROW_LANES
from w2v_cli.kernels.numba_internals import array_struct, cgutils

_FLOAT = ir.FloatType()
_VECTOR = ir.VectorType(_FLOAT, ROW_LANES)
_INT32 = ir.IntType(32)
_INT64 = ir.IntType(64)
_ZERO = ir.Constant(_VECTOR, [0.0] * ROW_LANES)


def _vectors(context, builder, array_type, value):
    """(pointer to the row's first vector, number of vectors) of a 1-d float32 array."""
    array = array_struct(context, builder, array_type, value)
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


def _listed_rows(context, builder, matrix_type, matrix, index_type, indices):
    """A function of k (an int64 value) giving a pointer to the first vector of row
    ``indices[k]`` of ``matrix``: the rows an operation takes from a list of row numbers."""
    table = array_struct(context, builder, matrix_type, matrix)
    row_bytes = builder.extract_value(table.strides, 0)
    base = builder.bitcast(table.data, ir.IntType(8).as_pointer())
    index_array = array_struct(context, builder, index_type, indices)

    def row_vectors(k):
        row = builder.load(builder.gep(index_array.data, [k]))
        if index_type.dtype.bitwidth < 64:
            row = builder.sext(row, _INT64)
        return builder.bitcast(builder.gep(base, [builder.mul(row, row_bytes)]),
                               _VECTOR.as_pointer())

    return row_vectors


def _accumulator(builder):
    slot = cgutils.alloca_once_value(builder, _ZERO)
    builder.store(_ZERO, slot)
    return slot


# Vectors of a row kept in registers at once by ``row_combine`` (8 x 16 floats: rows of up
# to 128 floats in one sweep; longer rows in sweeps of this many vectors).
_SWEEP = 8


def _in_sweeps(builder, nvec, name: str, sweep) -> None:
    """Call ``sweep(start, vectors)`` over a row of ``nvec`` vectors, ``_SWEEP`` at a time,
    each call with a constant ``vectors``: a row of up to ``_SWEEP`` vectors in one call
    (a switch picks its code), a longer one in a loop of full sweeps and a last, shorter
    one with code for its exact length (no masked loads and stores)."""
    done = builder.append_basic_block(f"{name}.done")
    long_rows = builder.append_basic_block(f"{name}.long")
    switch = builder.switch(nvec, long_rows)
    for vectors in range(1, _SWEEP + 1):
        case = builder.append_basic_block(f"{name}.{vectors}")
        switch.add_case(ir.Constant(_INT64, vectors), case)
        builder.position_at_end(case)
        sweep(ir.Constant(_INT64, 0), vectors)
        builder.branch(done)
    builder.position_at_end(long_rows)
    step = ir.Constant(_INT64, _SWEEP)
    sweeps = builder.udiv(nvec, step)
    with cgutils.for_range(builder, sweeps) as outer:
        sweep(builder.mul(outer.index, step), _SWEEP)
    start = builder.mul(sweeps, step)
    tail = builder.switch(builder.sub(nvec, start), done)
    for vectors in range(1, _SWEEP):
        case = builder.append_basic_block(f"{name}.tail{vectors}")
        tail.add_case(ir.Constant(_INT64, vectors), case)
        builder.position_at_end(case)
        sweep(start, vectors)
        builder.branch(done)
    builder.position_at_end(done)


def _combination(accumulate: bool):
    """The code of ``row_combine`` (``accumulate``: y += ...) or ``row_set_combination``:
    ``y``'s vectors of one sweep (``_in_sweeps``) held in registers while the rows of the
    sum stream past."""

    def codegen(context, builder, sig, args):
        ys, nvec = _vectors(context, builder, sig.args[0], args[0])
        row_at = _listed_rows(context, builder, sig.args[1], args[1], sig.args[2], args[2])
        coefficient_type = sig.args[5]
        coefficient_array = array_struct(context, builder, coefficient_type, args[5])
        first = context.cast(builder, args[3], sig.args[3], types.int64)
        count = context.cast(builder, args[4], sig.args[4], types.int64)
        offset = context.cast(builder, args[6], sig.args[6], types.int64)
        stride = context.cast(builder, args[7], sig.args[7], types.int64)
        totals = [_accumulator(builder) for _ in range(_SWEEP)]

        def sweep(start, vectors):
            """Sum into ``y``'s vectors start .. start + vectors - 1."""
            here = builder.gep(ys, [start])
            for s, total in enumerate(totals[:vectors]):
                where = builder.gep(here, [ir.Constant(_INT64, s)])
                value = _ZERO
                if accumulate:
                    value = _load(builder, where, ir.Constant(_INT64, 0))
                builder.store(value, total)
            with cgutils.for_range(builder, count) as rows:
                k = rows.index
                row_vectors = builder.gep(row_at(builder.add(first, k)), [start])
                at = builder.add(offset, builder.mul(k, stride))
                factor = _splat(builder, builder.load(builder.gep(coefficient_array.data,
                                                                  [at])))
                for s, total in enumerate(totals[:vectors]):
                    vector = _load(builder, builder.gep(row_vectors, [ir.Constant(_INT64, s)]),
                                   ir.Constant(_INT64, 0))
                    builder.store(_fma(builder, factor, vector, builder.load(total)), total)
            for s, total in enumerate(totals[:vectors]):
                _store(builder, builder.load(total), builder.gep(here, [ir.Constant(_INT64, s)]),
                       ir.Constant(_INT64, 0))

        _in_sweeps(builder, nvec, "combination", sweep)
        return context.get_dummy_value()

    return codegen


def _shuffle(builder, a, b, lanes):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_INT32, len(lanes)), lanes))


def _sum_lanes4(builder, v0, v1, v2, v3):
    """The lane sums of four vectors, as a <4 x float>: pairs of halves added level by
    level (15 shuffles and adds for the four sums, against 32 one vector at a time)."""
    half = ROW_LANES // 2

    t01 = builder.fadd(_shuffle(builder, v0, v1, list(range(half)) +
                                list(range(ROW_LANES, ROW_LANES + half))),
                       _shuffle(builder, v0, v1, list(range(half, ROW_LANES)) +
                                list(range(ROW_LANES + half, 2 * ROW_LANES))))
    t23 = builder.fadd(_shuffle(builder, v2, v3, list(range(half)) +
                                list(range(ROW_LANES, ROW_LANES + half))),
                       _shuffle(builder, v2, v3, list(range(half, ROW_LANES)) +
                                list(range(ROW_LANES + half, 2 * ROW_LANES))))
    # t01 = [v0: 8 partial sums | v1: 8], t23 likewise; now 4 partial sums each
    q = half // 2
    low = [b + i for b in (0, half, ROW_LANES, ROW_LANES + half) for i in range(q)]
    high = [b + q + i for b in (0, half, ROW_LANES, ROW_LANES + half) for i in range(q)]
    u = builder.fadd(_shuffle(builder, t01, t23, low), _shuffle(builder, t01, t23, high))
    # u = [v0: 4 | v1: 4 | v2: 4 | v3: 4]; then 2 each, then 1 each
    w = builder.fadd(_shuffle(builder, u, u, [4 * g + i for g in range(4) for i in (0, 1)]),
                     _shuffle(builder, u, u, [4 * g + i for g in range(4) for i in (2, 3)]))
    return builder.fadd(_shuffle(builder, w, w, [0, 2, 4, 6]),
                        _shuffle(builder, w, w, [1, 3, 5, 7]))


@intrinsic
def row_dots(typingctx, x, matrix, indices, count, out):
    """out[k] = x . matrix[indices[k]] for k < count.

    A row of up to 128 floats stays in registers (code made for its exact number of
    vectors) while the other rows stream past it, four at a time with their four lane
    sums folded together.  A longer row is swept once per four other rows, with four
    accumulators (the rest, one to three rows, likewise), so that four chains of fused
    adds overlap instead of each add waiting on the one before.  Each product's order of
    operations is the same either way.
    """
    signature = types.void(x, matrix, indices, count, out)

    def codegen(context, builder, sig, args):
        xs, nvec = _vectors(context, builder, sig.args[0], args[0])
        row_at = _listed_rows(context, builder, sig.args[1], args[1], sig.args[2], args[2])
        count = context.cast(builder, args[3], sig.args[3], types.int64)
        results = array_struct(context, builder, sig.args[4], args[4]).data
        zero64 = ir.Constant(_INT64, 0)

        def product(x_vectors, row):
            total = None
            for s, x_s in enumerate(x_vectors):
                value = _load(builder, builder.gep(row, [ir.Constant(_INT64, s)]), zero64)
                total = (builder.fmul(x_s, value) if total is None
                         else _fma(builder, x_s, value, total))
            return total

        done = builder.append_basic_block("dots.done")
        long_rows = builder.append_basic_block("dots.long")
        switch = builder.switch(nvec, long_rows)
        for vectors in range(1, _SWEEP + 1):
            case = builder.append_basic_block(f"dots.{vectors}")
            switch.add_case(ir.Constant(_INT64, vectors), case)
            builder.position_at_end(case)
            x_vectors = [_load(builder, builder.gep(xs, [ir.Constant(_INT64, s)]), zero64)
                         for s in range(vectors)]
            quads = builder.udiv(count, ir.Constant(_INT64, 4))
            with cgutils.for_range(builder, quads) as loop:
                k = builder.mul(loop.index, ir.Constant(_INT64, 4))
                ks = [builder.add(k, ir.Constant(_INT64, i)) for i in range(4)]
                sums = _sum_lanes4(builder, *[product(x_vectors, row_at(ki)) for ki in ks])
                where = builder.bitcast(builder.gep(results, [k]),
                                        ir.VectorType(_FLOAT, 4).as_pointer())
                builder.store(sums, where, align=4)
            rest = builder.sub(count, builder.mul(quads, ir.Constant(_INT64, 4)))
            with cgutils.for_range(builder, rest) as loop:
                k = builder.add(builder.mul(quads, ir.Constant(_INT64, 4)), loop.index)
                builder.store(_sum_lanes(builder, product(x_vectors, row_at(k))),
                              builder.gep(results, [k]))
            builder.branch(done)
        builder.position_at_end(long_rows)

        def interleaved_products(first_row, rows):
            """The lane-wise products of ``x`` with ``rows`` consecutive rows, one
            accumulator each, swept together so that their chains of fused adds overlap."""
            pointers = [row_at(builder.add(first_row, ir.Constant(_INT64, j)))
                        for j in range(rows)]
            totals = [_accumulator(builder) for _ in range(rows)]
            with cgutils.for_range(builder, nvec) as vectors:
                i = vectors.index
                x_i = _load(builder, xs, i)
                for pointer, total in zip(pointers, totals):
                    builder.store(_fma(builder, x_i, _load(builder, pointer, i),
                                       builder.load(total)), total)
            return [builder.load(total) for total in totals]

        quads = builder.udiv(count, ir.Constant(_INT64, 4))
        with cgutils.for_range(builder, quads) as loop:
            k = builder.mul(loop.index, ir.Constant(_INT64, 4))
            sums = _sum_lanes4(builder, *interleaved_products(k, 4))
            where = builder.bitcast(builder.gep(results, [k]),
                                    ir.VectorType(_FLOAT, 4).as_pointer())
            builder.store(sums, where, align=4)
        k = builder.mul(quads, ir.Constant(_INT64, 4))
        rest = builder.switch(builder.sub(count, k), done)
        for rows in range(1, 4):
            case = builder.append_basic_block(f"dots.long.rest{rows}")
            rest.add_case(ir.Constant(_INT64, rows), case)
            builder.position_at_end(case)
            for j, total in enumerate(interleaved_products(k, rows)):
                builder.store(_sum_lanes(builder, total),
                              builder.gep(results, [builder.add(k, ir.Constant(_INT64, j))]))
            builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def row_combine(typingctx, y, matrix, indices, first, count, coefficients, offset, stride):
    """y += sum over k < count of coefficients[offset + k * stride] * matrix[indices[first + k]].

    ``y`` stays in registers while the rows are added: it is read and written once, and
    each added row costs one load and one fused multiply-add per vector (rows of more
    than 128 floats are swept 128 floats at a time).  ``matrix`` is float32[rows, len(y)] with
    rows on vector boundaries; ``indices`` any integer array.
    """
    signature = types.void(y, matrix, indices, first, count, coefficients, offset, stride)
    return signature, _combination(accumulate=True)


@intrinsic
def row_set_combination(typingctx, y, matrix, indices, first, count, coefficients, offset,
                        stride):
    """``row_combine`` that overwrites ``y`` with the sum instead of adding to it."""
    signature = types.void(y, matrix, indices, first, count, coefficients, offset, stride)
    return signature, _combination(accumulate=False)


def _exchange(add_to_x: bool):
    """The code of ``row_exchange`` (``add_to_x``: of ``row_exchange_and_add``)."""

    def codegen(context, builder, sig, args):
        ys, nvec = _vectors(context, builder, sig.args[0], args[0])
        xs, _ = _vectors(context, builder, sig.args[1], args[1])
        row_at = _listed_rows(context, builder, sig.args[2], args[2], sig.args[3], args[3])
        count = context.cast(builder, args[4], sig.args[4], types.int64)
        coefficient_array = array_struct(context, builder, sig.args[5], args[5])
        totals = [_accumulator(builder) for _ in range(_SWEEP)]
        zero64 = ir.Constant(_INT64, 0)

        def sweep(start, vectors):
            y_here, x_here = builder.gep(ys, [start]), builder.gep(xs, [start])
            x_vectors = [_load(builder, x_here, ir.Constant(_INT64, s)) for s in range(vectors)]
            for s, total in enumerate(totals[:vectors]):
                builder.store(_load(builder, y_here, ir.Constant(_INT64, s)), total)
            with cgutils.for_range(builder, count) as rows:
                k = rows.index
                row_vectors = builder.gep(row_at(k), [start])
                factor = _splat(builder, builder.load(builder.gep(coefficient_array.data,
                                                                  [k])))
                for s, (total, x_s) in enumerate(zip(totals[:vectors], x_vectors)):
                    where = builder.gep(row_vectors, [ir.Constant(_INT64, s)])
                    old = _load(builder, where, zero64)
                    builder.store(_fma(builder, factor, old, builder.load(total)), total)
                    _store(builder, _fma(builder, factor, x_s, old), where, zero64)
            for s, (total, x_s) in enumerate(zip(totals[:vectors], x_vectors)):
                y_s = builder.load(total)
                _store(builder, y_s, y_here, ir.Constant(_INT64, s))
                if add_to_x:
                    _store(builder, builder.fadd(x_s, y_s), x_here, ir.Constant(_INT64, s))

        _in_sweeps(builder, nvec, "exchange", sweep)
        return context.get_dummy_value()

    return codegen


@intrinsic
def row_exchange(typingctx, y, x, matrix, indices, count, coefficients):
    """For k < count, with c = coefficients[k] and r = matrix[indices[k]]:
    y += c * r (r's value before this call), then r += c * x.

    One pass over the rows where ``row_combine`` and then one update per row would make
    two: each row's vectors are loaded once, feed ``y``'s sum and are written back
    changed, while ``y``'s and ``x``'s vectors of the sweep stay in registers.  The
    indices must be distinct, and ``x`` and ``y`` must not be rows of ``matrix``.
    """
    signature = types.void(y, x, matrix, indices, count, coefficients)
    return signature, _exchange(add_to_x=False)


@intrinsic
def row_exchange_and_add(typingctx, y, x, matrix, indices, count, coefficients):
    """``row_exchange``, then x += y: for a skip-gram context row, which takes the
    error once its targets are done, without reading either row again."""
    signature = types.void(y, x, matrix, indices, count, coefficients)
    return signature, _exchange(add_to_x=True)


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
def rows_add(typingctx, matrix, indices, first, count, y):
    """matrix[indices[first + k]] += y for k < count, in that order (a row listed twice
    gets ``y`` twice).  ``y``'s vectors of a sweep stay in registers while the rows
    stream past, so each row costs a load and a store per vector; ``y`` must not be a
    row of ``matrix``."""
    signature = types.void(matrix, indices, first, count, y)

    def codegen(context, builder, sig, args):
        row_at = _listed_rows(context, builder, sig.args[0], args[0], sig.args[1], args[1])
        first = context.cast(builder, args[2], sig.args[2], types.int64)
        count = context.cast(builder, args[3], sig.args[3], types.int64)
        ys, nvec = _vectors(context, builder, sig.args[4], args[4])
        zero64 = ir.Constant(_INT64, 0)

        def sweep(start, vectors):
            y_here = builder.gep(ys, [start])
            y_vectors = [_load(builder, y_here, ir.Constant(_INT64, s)) for s in range(vectors)]
            with cgutils.for_range(builder, count) as rows:
                row_vectors = builder.gep(row_at(builder.add(first, rows.index)), [start])
                for s, y_s in enumerate(y_vectors):
                    where = builder.gep(row_vectors, [ir.Constant(_INT64, s)])
                    _store(builder, builder.fadd(_load(builder, where, zero64), y_s), where,
                           zero64)

        _in_sweeps(builder, nvec, "rows_add", sweep)
        return context.get_dummy_value()

    return signature, codegen


def _prefetch_codegen(for_write: int, locality: int):
    """Code for ``llvm.prefetch`` of the line holding ``matrix[row, column]``:
    ``for_write`` 1 asks for the line to be written (x86 ``prefetchw``), 0 to be read;
    ``locality`` 3 keeps it in every cache level (``prefetcht0``), 2 from the second
    level out (``prefetcht1``)."""
    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = array_struct(context, builder, array_type, args[0])
        indices = [context.cast(builder, value, kind, types.intp)
                   for value, kind in zip(args[1:], sig.args[1:])]
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, indices)
        byte_pointer = ir.IntType(8).as_pointer()
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, _INT32, _INT32,
                                                            _INT32]),
            "llvm.prefetch.p0")
        # (address, read or write, locality, 1 = data cache)
        builder.call(function, [builder.bitcast(pointer, byte_pointer),
                                ir.Constant(_INT32, for_write),
                                ir.Constant(_INT32, locality), ir.Constant(_INT32, 1)])
        return context.get_dummy_value()

    return codegen


@intrinsic
def _prefetch_for_write(typingctx, matrix, row, column):
    """Hint: bring the cache line holding ``matrix[row, column]``, to be written."""
    return types.void(matrix, row, column), _prefetch_codegen(for_write=1, locality=3)


@intrinsic
def _prefetch_to_second_level(typingctx, matrix, row, column):
    """Hint: bring the cache line holding ``matrix[row, column]`` as far as the
    second-level cache, to be read."""
    return types.void(matrix, row, column), _prefetch_codegen(for_write=0, locality=2)


@njit(inline="always")
def prefetch_row(matrix, row, size):
    """Prefetch every cache line of ``matrix[row, :size]`` for writing."""
    for column in range(0, size, ROW_LANES):
        _prefetch_for_write(matrix, row, column)
    _prefetch_for_write(matrix, row, size - 1)      # the row's last, partial line


@njit(inline="always")
def prefetch_row_early(matrix, row, size):
    """Prefetch every cache line of ``matrix[row, :size]`` into the second-level cache:
    for a row needed a step later than the rows ``prefetch_row`` asks for."""
    for column in range(0, size, ROW_LANES):
        _prefetch_to_second_level(matrix, row, column)
    _prefetch_to_second_level(matrix, row, size - 1)
