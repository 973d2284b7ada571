"""Measure this CPU's peak single-precision floating-point rate (the benchmark's yardstick).

``make bench`` reports how many useful floating-point operations per second our training
loop does; this script gives the figure to hold them against: what the cores reach when
they do nothing but fused multiply-adds on the widest vectors they have.

How it measures:

* **The FMA loop.**  A small function is written in LLVM IR and compiled for the host CPU
  with ``llvmlite`` (which numba brings): a loop whose body is one fused multiply-add on
  each of ``A`` independent accumulators, each a vector of ``W`` float32 lanes (``W`` = 16
  with AVX-512, 8 with AVX2, 4 otherwise), all kept in registers.  Independent
  accumulators hide the FMA latency (4-5 cycles on current cores, times 2 pipelines: at
  least 10 operations must be in flight); the loop touches no memory.  Each iteration is
  ``A * W * 2`` flops (a multiply and an add per lane).  It is called through ctypes,
  which releases the GIL, so two threads calling it at once run on two cores.
* **The clock.**  A second function runs a chain of dependent 64-bit integer adds (inline
  assembly, so the compiler cannot fold them); each add needs the previous result and
  takes one cycle on every x86-64 core, so adds per second is the core clock while it runs
  (no performance counters needed; a virtual machine's reported MHz is often the nominal
  one).  x86-64 only; elsewhere the clock, and so flops per cycle, is left unknown.
* **One copy and two copies.**  Each figure is measured with one thread alone and with
  ``--copies`` threads started together (default 2), several trials each; the best trial
  counts (on a shared machine, other work can only slow a trial down).

The theoretical peak printed beside it is FMA width x FMA units x 2 flops x cores x clock,
with the width read from the CPU's feature flags, the clock from the measurement, and an
assumed number of FMA units per core (see ``ASSUMED_FMA_UNITS``).

Usage::

    python scripts/peak_flops.py [--seconds 0.5] [--trials 3] [--copies 2] [--json]

``--seconds`` is the length of each timed call (``--seconds 0.02`` gives a quick, rougher
figure).  With ``--json`` the result is printed as JSON instead of text.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

# Two FMA units per core, each as wide as the widest vectors: what Intel cores since
# Haswell have for AVX2 (and the Xeon Scalable parts with two 512-bit units for AVX-512),
# AMD Zen 2/3 for 256-bit and Zen 5 desktop and server cores for 512-bit vectors.
# Exceptions: Zen 4 runs a 512-bit FMA as two 256-bit halves, and Xeons with a single
# 512-bit unit do one per cycle; there the measurement shows half the theory.
ASSUMED_FMA_UNITS = 2

ADDS_PER_CLOCK_ITERATION = 100      # dependent adds per loop iteration of the clock chain


@dataclass
class VectorISA:
    """The widest float32 vectors this CPU has."""

    name: str           # "AVX-512", "AVX2", "SSE/NEON"
    lanes: int          # float32 lanes per vector
    registers: int      # vector registers the ISA has
    fused: bool         # a fused multiply-add instruction exists

    @property
    def accumulators(self) -> int:
        """Independent accumulators: enough to hide two pipelines' latency, few enough to
        stay in registers beside the two constant operands."""
        return 16 if self.registers >= 32 else 12


def vector_isa(features: Dict[str, bool]) -> VectorISA:
    """The vector ISA from the CPU's feature flags (LLVM's reading of cpuid)."""
    if features.get("avx512f"):
        return VectorISA("AVX-512", 16, 32, bool(features.get("fma", True)))
    if features.get("avx2") or features.get("avx"):
        return VectorISA("AVX2" if features.get("avx2") else "AVX", 8, 16,
                         bool(features.get("fma")))
    return VectorISA("SSE/NEON", 4, 16, bool(features.get("fma") or features.get("neon")))


def fma_loop_ir(lanes: int, accumulators: int, fused: bool, opaque_pointers: bool = True) -> str:
    """LLVM IR of ``void fma_loop(i64 n, float *out)``: ``n`` iterations of
    ``acc_k = acc_k * m + c`` on ``accumulators`` vectors of ``lanes`` floats, then the sum
    of the accumulators stored to ``out`` (``lanes`` floats) so that no lane is dead code.

    m slightly below 1 and c small keep the values normal floats (no slow denormals).
    Without fast-math flags LLVM may not reassociate or fold the chain.  Pointers are
    written ``ptr`` (LLVM 15 and later) or, with ``opaque_pointers`` false, typed (LLVM 14,
    as with numba 0.59 and 0.60).
    """
    vec = f"<{lanes} x float>"
    ptr = "ptr" if opaque_pointers else f"{vec}*"
    intrinsic = f"llvm.{'fma' if fused else 'fmuladd'}.v{lanes}f32"

    def splat(value: float) -> str:
        return "<" + ", ".join(f"float {_ir_float(value)}" for _ in range(lanes)) + ">"

    m, c = splat(0.9999999), splat(2.5e-7)
    start = [splat(k + 1.0) for k in range(accumulators)]
    phis = "\n".join(f"  %a{k} = phi {vec} [{start[k]}, %entry], [%n{k}, %loop]"
                     for k in range(accumulators))
    steps = "\n".join(f"  %n{k} = call {vec} @{intrinsic}({vec} %a{k}, {vec} {m}, {vec} {c})"
                      for k in range(accumulators))
    sums, last = [], "%n0"
    for k in range(1, accumulators):
        sums.append(f"  %s{k} = fadd {vec} {last}, %n{k}")
        last = f"%s{k}"
    return f"""
declare {vec} @{intrinsic}({vec}, {vec}, {vec})

define void @fma_loop(i64 %count, {ptr} %out) {{
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i.next, %loop]
{phis}
{steps}
  %i.next = add i64 %i, 1
  %more = icmp ult i64 %i.next, %count
  br i1 %more, label %loop, label %done
done:
{chr(10).join(sums)}
  store {vec} {last}, {ptr} %out, align 4
  ret void
}}
"""


def _ir_float(value: float) -> str:
    """``value`` rounded to float32, as LLVM IR writes a float constant (the hex of the
    equal double)."""
    as_float32 = struct.unpack("<f", struct.pack("<f", value))[0]
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", as_float32))[0]


def clock_chain_ir() -> str:
    """LLVM IR of ``i64 add_chain(i64 n)``: ``n`` x ADDS_PER_CLOCK_ITERATION dependent
    register adds (x86-64 inline assembly: opaque to the optimiser)."""
    body = "\\0A\\09".join(["addq $2, $0"] * ADDS_PER_CLOCK_ITERATION)
    return f"""
define i64 @add_chain(i64 %count) {{
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i.next, %loop]
  %x = phi i64 [0, %entry], [%x.next, %loop]
  %x.next = call i64 asm sideeffect "{body}", "=r,0,r,~{{flags}}"(i64 %x, i64 1)
  %i.next = add i64 %i, 1
  %more = icmp ult i64 %i.next, %count
  br i1 %more, label %loop, label %done
done:
  ret i64 %x.next
}}
"""


class Kernels:
    """The two loops compiled for the host CPU (llvmlite's MCJIT), callable via ctypes."""

    def __init__(self, isa: VectorISA, with_clock: bool) -> None:
        import llvmlite.binding as llvm

        # llvmlite >= 0.45 initialises LLVM itself and refuses the old call.
        try:
            llvm.initialize()
        except RuntimeError:
            pass
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()      # for the inline assembly of the clock
        target = llvm.Target.from_default_triple()
        features = llvm.get_host_cpu_features().flatten()
        self.machine = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                                    features=features, opt=2)
        source = fma_loop_ir(isa.lanes, isa.accumulators, isa.fused,
                             opaque_pointers=llvm.llvm_version_info >= (15,))
        if with_clock:
            source += clock_chain_ir()
        module = llvm.parse_assembly(source)
        module.verify()
        self.assembly = self.machine.emit_assembly(module)
        self.engine = llvm.create_mcjit_compiler(module, self.machine)
        self.engine.finalize_object()
        self.lanes = isa.lanes
        self.fma_loop = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)(
            self.engine.get_function_address("fma_loop"))
        self.add_chain = (ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(
            self.engine.get_function_address("add_chain")) if with_clock else None)


def calibrate(call: Callable[[int, int], object], seconds: float) -> int:
    """Iterations for one call of about ``seconds``."""
    count = 1 << 12
    while True:
        start = time.thread_time()
        call(0, count)
        elapsed = time.thread_time() - start
        if elapsed > seconds / 8 or count > 1 << 40:
            return max(1, int(count * seconds / max(elapsed, 1e-9)))
        count *= 4


@dataclass
class Trial:
    """One timed round: ``copies`` threads started together, one call each."""

    rate: float         # iterations per second of CPU time, summed over the threads
    cpu_share: float    # the smallest share of its wall time a thread spent on a core


def concurrent_trials(call: Callable[[int, int], object], count: int, copies: int,
                      trials: int) -> List[Trial]:
    """``trials`` rounds of ``copies`` threads started together, each making one call
    ``call(thread number, count)``.

    A thread's rate is taken per second of its own CPU time, not of wall time: on a
    shared machine other processes take turns on the cores, and a descheduled thread
    would otherwise look like a slow core.  What makes the core itself slower (a sibling
    thread on the same physical core, a lower clock when both cores are busy) still shows.
    """
    results: List[List[tuple]] = [[] for _ in range(copies)]
    barrier = threading.Barrier(copies)

    def worker(slot: int) -> None:
        for _ in range(trials):
            barrier.wait()
            wall, cpu = time.perf_counter(), time.thread_time()
            call(slot, count)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            results[slot].append((count / max(cpu, 1e-9), cpu / wall))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [Trial(sum(rate for rate, _ in round_), min(share for _, share in round_))
            for round_ in zip(*results)]


@dataclass
class Peak:
    """What one run of this script measured (rates in GFLOP/s, clock in GHz)."""

    cpu: str
    isa: str
    lanes: int
    accumulators: int
    fused: bool
    seconds_per_call: float
    trials: int
    gflops: Dict[int, float] = field(default_factory=dict)       # copies -> best trial
    gflops_trials: Dict[int, List[float]] = field(default_factory=dict)
    cpu_share: Dict[int, float] = field(default_factory=dict)    # copies -> in the best trial
    clock_ghz: Dict[int, float] = field(default_factory=dict)    # copies -> per core, best
    fma_instructions: bool = False       # the compiled loop uses vfmadd (x86) / fmla (ARM)
    assumed_fma_units: int = ASSUMED_FMA_UNITS

    def flops_per_cycle(self, copies: int = 1) -> float:
        """Measured flops per cycle and core (NaN without a clock)."""
        clock = self.clock_ghz.get(copies, float("nan"))
        return self.gflops[copies] / copies / clock

    def theoretical_gflops(self, copies: int) -> float:
        """FMA width x FMA units x 2 x cores x the measured clock."""
        clock = self.clock_ghz.get(copies, float("nan"))
        return self.lanes * self.assumed_fma_units * 2 * copies * clock


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(seconds: float = 0.5, trials: int = 3, copies: int = 2) -> Peak:
    """Measure the peak with 1 thread and with ``copies`` threads at once."""
    import llvmlite.binding as llvm

    isa = vector_isa(dict(llvm.get_host_cpu_features()))
    with_clock = platform.machine().lower() in ("x86_64", "amd64")
    kernels = Kernels(isa, with_clock)
    outputs = [(ctypes.c_float * isa.lanes)() for _ in range(max(copies, 1))]
    flops_per_iteration = isa.accumulators * isa.lanes * 2

    def fma(slot: int, count: int) -> None:
        kernels.fma_loop(count, ctypes.addressof(outputs[slot]))     # one buffer per thread

    def clock(slot: int, count: int) -> None:
        kernels.add_chain(count)
    peak = Peak(cpu=cpu_name(), isa=isa.name, lanes=isa.lanes,
                accumulators=isa.accumulators, fused=isa.fused,
                seconds_per_call=seconds, trials=trials)
    asm = kernels.assembly.lower()
    peak.fma_instructions = "vfmadd" in asm or "fmla" in asm
    fma_count = calibrate(fma, seconds)
    clock_count = calibrate(clock, seconds / 2) if with_clock else 0
    for n in sorted({1, copies}):
        rounds = concurrent_trials(fma, fma_count, n, trials)
        best = max(rounds, key=lambda t: t.rate)
        peak.gflops_trials[n] = [t.rate * flops_per_iteration / 1e9 for t in rounds]
        peak.gflops[n] = best.rate * flops_per_iteration / 1e9
        peak.cpu_share[n] = best.cpu_share
        if with_clock:
            adds = concurrent_trials(clock, clock_count, n, trials)
            best_adds = max(t.rate for t in adds)
            peak.clock_ghz[n] = best_adds * ADDS_PER_CLOCK_ITERATION / n / 1e9
    return peak


def describe(peak: Peak) -> str:
    """The measurement and the theory, in words."""
    copies = max(peak.gflops)
    lines = [f"CPU: {peak.cpu}; widest vectors: {peak.isa} ({peak.lanes} float32 lanes), "
             f"FMA {'yes' if peak.fused else 'no'} (from the CPU's feature flags); "
             f"compiled loop uses FMA instructions: "
             f"{'yes' if peak.fma_instructions else 'NO'}."]
    for n in sorted(peak.gflops):
        clock = peak.clock_ghz.get(n)
        clock_text = (f"clock {clock:.2f} GHz per core from a chain of dependent adds, "
                      f"{peak.flops_per_cycle(n):.1f} flops/cycle/core" if clock
                      else "clock unknown")
        lines.append(f"measured, {n} cop{'y' if n == 1 else 'ies'} at once: "
                     f"{peak.gflops[n]:.1f} GFLOP/s ({clock_text}); best of {peak.trials} "
                     f"calls of {peak.seconds_per_call:g} s, per second of CPU time "
                     f"(each thread was on a core {100 * peak.cpu_share[n]:.0f}% of the call)")
    if peak.clock_ghz:
        lines.append(
            f"theory: {peak.lanes} lanes ({peak.isa}, from the CPU flags) x "
            f"{peak.assumed_fma_units} FMA units (assumed: two per core on current x86 "
            f"cores) x 2 flops x {copies} cores x {peak.clock_ghz[copies]:.2f} GHz "
            "(measured) = "
            f"{peak.theoretical_gflops(copies):.1f} GFLOP/s "
            f"({peak.lanes * peak.assumed_fma_units * 2} flops/cycle/core)")
    return "\n".join(lines)


def to_json(peak: Peak) -> dict:
    data = asdict(peak)
    data["flops_per_cycle"] = {n: peak.flops_per_cycle(n) for n in peak.clock_ghz}
    data["theoretical_gflops"] = {n: peak.theoretical_gflops(n) for n in peak.clock_ghz}
    return {k: ({str(n): v for n, v in value.items()} if isinstance(value, dict) else value)
            for k, value in data.items()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each timed call")
    parser.add_argument("--trials", type=int, default=3, help="timed calls; the best counts")
    parser.add_argument("--copies", type=int, default=min(2, os.cpu_count() or 1),
                        help="threads for the multi-core figure (default: 2)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.trials < 1 or args.copies < 1:
        parser.error("--seconds must be positive, --trials and --copies at least 1")
    try:
        peak = measure(args.seconds, args.trials, args.copies)
    except ImportError:
        print("peak_flops: llvmlite is not installed (it comes with numba)", file=sys.stderr)
        return 1
    print(json.dumps(to_json(peak), indent=2) if args.json else describe(peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())
