"""Prefetching weight rows with write intent (x86 ``prefetchw``, or the target's equivalent).

Training threads share the weight matrices (Hogwild), so a row one thread is about to
update often sits, modified, in the other core's cache; fetching it then stalls the thread
for a cross-core transfer.  Asking for the rows a step needs before computing that step
overlaps those transfers with useful work.  A prefetch is only a hint: results do not
change, and a prefetch of a line already present costs almost nothing.
"""

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_FLOATS_PER_LINE = 16            # 64-byte cache lines of float32


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
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        # (address, 1 = for writing, 3 = keep in all cache levels, 1 = data cache)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 1),
                                ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return signature, codegen


@njit(inline="always")
def prefetch_row(matrix, row, size):
    """Prefetch every cache line of ``matrix[row, :size]`` for writing."""
    for column in range(0, size, _FLOATS_PER_LINE):
        _prefetch_for_write(matrix, row, column)
    _prefetch_for_write(matrix, row, size - 1)      # the row's last, partial line
