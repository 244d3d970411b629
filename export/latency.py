"""Latency a rig builder can plan around: windows on demand and from the prefetching stream.

:func:`measure_latency` runs a paced loop (one window per tick, as a rig
asks) for a given time, twice: computing each window on demand
(``Sampler.stream()``) and taking it from the prefetching stream
(``Sampler.stream(prefetch=...)``). It reports, per mode, p50/p99/p99.9/max
of the time to get the next window, how many gets exceeded the 1 ms and 10 ms
loop budgets, the stream's underruns (ticks that found its buffer empty), and
the process's CPU use while the stream is paused (what an idle model costs the
rig's other cores), with a description of the machine. ``spikegan latency``
prints it. Needs only numpy and onnxruntime.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from spikegan_tf.validation import check_positive_int

__all__ = ["BUDGETS_MS", "ModeLatency", "LatencyReport", "cpu_description", "matmul_calibration",
           "measure_latency"]

BUDGETS_MS = (1.0, 10.0)
_SPIN_S = 200e-6  # the loop sleeps until this long before a tick, then spins


def cpu_description() -> dict[str, Any]:
    """CPU model, logical CPUs, the SIMD flags that decide kernel choice, and the load.

    Examples
    --------
    >>> sorted(cpu_description())[:3]
    ['cpu_model', 'load_average_1m', 'logical_cpus']
    """
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name") and ":" in line:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and ":" in line:
                    flags = line.split(":", 1)[1].split()
                    break
    except OSError:
        pass
    simd = sorted(f for f in flags if f.startswith(("avx", "fma", "amx", "sse4")))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu_model": model, "logical_cpus": os.cpu_count(), "simd_flags": simd,
            "python": sys.version.split()[0], "machine": platform.machine(),
            "load_average_1m": load}


def matmul_calibration(size: int = 1024, repeats: int = 8) -> dict[str, Any]:
    """Float32 GFLOP/s of a ``size``-cubed numpy matmul (wall and per CPU-second).

    The machine calibration of a latency report, so reports from different
    machines can be compared (the benchmarks measure the same with TensorFlow;
    this runtime does without it, hence ``"library": "numpy"``).

    Examples
    --------
    >>> cal = matmul_calibration(size=64, repeats=2)
    >>> sorted(cal), cal["gflop_per_s"] > 0
    (['gflop_per_cpu_s', 'gflop_per_s', 'library'], True)
    """
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    a @ a
    walls, cpus = [], []
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            a @ a
        flop = 2.0 * size**3 * repeats
        walls.append(flop / max(time.perf_counter() - w0, 1e-9) / 1e9)
        cpus.append(flop / max(time.process_time() - c0, 1e-9) / 1e9)
    return {"gflop_per_s": float(np.median(walls)), "gflop_per_cpu_s": float(np.median(cpus)),
            "library": "numpy"}


@dataclass(frozen=True)
class ModeLatency:
    """Time to get the next window in one mode, in microseconds."""

    mode: str
    ticks: int
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    over_budget: dict[str, int]
    underruns: int | None = None

    @classmethod
    def from_times(cls, mode: str, seconds: np.ndarray, underruns: int | None = None
                   ) -> ModeLatency:
        """Summarise get times (seconds)."""
        us = np.asarray(seconds, dtype=np.float64) * 1e6
        p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
        over = {f"{b:g}ms": int(np.count_nonzero(us > b * 1e3)) for b in BUDGETS_MS}
        return cls(mode, int(us.size), float(p50), float(p99), float(p999), float(us.max()),
                   over, underruns)

    def line(self) -> str:
        """One table row."""
        over = ", ".join(f"{v} over {k}" for k, v in self.over_budget.items())
        under = "" if self.underruns is None else f", {self.underruns} underruns"
        return (f"{self.mode:<10} {self.p50_us:9.1f} {self.p99_us:9.1f} {self.p999_us:9.1f} "
                f"{self.max_us:9.1f}   {self.ticks} ticks: {over}{under}")


@dataclass(frozen=True)
class LatencyReport:
    """What :func:`measure_latency` measured."""

    model: str
    n_neurons: int
    n_bins: int
    threads: int
    period_ms: float
    prefetch: int
    modes: dict[str, ModeLatency]
    idle_cpu_fraction: float
    machine: dict[str, Any] = field(default_factory=cpu_description)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    def lines(self) -> list[str]:
        """The printed report."""
        m = self.machine
        out = [f"{self.model}: {self.n_neurons} neurons x {self.n_bins} bins; "
               f"{self.threads} ONNX Runtime thread(s); one window per {self.period_ms:g} ms tick",
               f"machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs, "
               f"{' '.join(m['simd_flags']) or 'no AVX'}; load average {m['load_average_1m']}"
               + ("" if "matmul_float32" not in m else
                  f"; float32 matmul {m['matmul_float32']['gflop_per_s']:.0f} GFLOP/s"),
               f"time to get the next window (us); budgets {' and '.join(f'{b:g} ms' for b in BUDGETS_MS)}:",
               f"{'mode':<10} {'p50':>9} {'p99':>9} {'p99.9':>9} {'max':>9}"]
        out += [mode.line() for mode in self.modes.values()]
        out.append(f"stream paused: the process used {100 * self.idle_cpu_fraction:.2f}% of one "
                   f"CPU (prefetch {self.prefetch} windows)")
        return out


def _wait(deadline: float) -> None:
    """Sleep until shortly before ``deadline``, then spin (wakes within microseconds)."""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        if left > _SPIN_S + 1e-4:
            time.sleep(left - _SPIN_S)


def _paced(windows: Any, ticks: int, period: float) -> np.ndarray:
    times = np.empty(ticks)
    nxt = time.perf_counter() + period
    for i in range(ticks):
        _wait(nxt)
        t = time.perf_counter()
        next(windows)
        times[i] = time.perf_counter() - t
        nxt += period
        now = time.perf_counter()
        if nxt < now:  # fell behind (preempted): re-anchor rather than burst
            nxt = now + period
    return times


def measure_latency(model: Any, *, seconds: float = 30.0, threads: int = 1,
                    period_ms: float = 1.0, prefetch: int = 1024, seed: int = 0,
                    pause_s: float = 1.0, modes: tuple[str, ...] = ("on-demand", "stream")
                    ) -> LatencyReport:
    """Measure the rig latency of an ONNX model (see the module docstring).

    Parameters
    ----------
    model : path-like or Sampler
        ``model.onnx`` written by ``spikegan export`` (or a ``Sampler``).
    seconds : float
        Duration of each mode's paced loop.
    threads : int
        ONNX Runtime threads (of the on-demand session and of the stream's producer).
    period_ms : float
        Loop period (1 ms: a 1 kHz rig).
    prefetch : int
        Windows the stream keeps ready.
    seed : int
        Session seed.
    pause_s : float
        How long the stream is paused to measure the idle CPU use.
    modes : tuple of str
        ``"on-demand"`` and/or ``"stream"``.

    Examples
    --------
    >>> report = measure_latency("models/retina/1/model.onnx", seconds=5)  # doctest: +SKIP
    >>> print("\\n".join(report.lines()))                                     # doctest: +SKIP
    """
    from spikegan_tf.errors import ConfigError

    from .runtime import Sampler

    if not (isinstance(seconds, (int, float)) and seconds > 0):
        raise ConfigError(f"`seconds` must be a positive number. Received {seconds!r}.")
    if not (isinstance(period_ms, (int, float)) and period_ms > 0):
        raise ConfigError(f"`period_ms` must be a positive number. Received {period_ms!r}.")
    threads = check_positive_int(threads, "threads")
    prefetch = check_positive_int(prefetch, "prefetch")
    unknown = [m for m in modes if m not in ("on-demand", "stream")]
    if unknown or not modes:
        raise ConfigError(f"`modes` must be 'on-demand' and/or 'stream'. Received {modes!r}.")
    sampler = model if isinstance(model, Sampler) else Sampler(model, seed=seed,
                                                                 intra_op_threads=threads)
    period = period_ms / 1e3
    ticks = max(1, int(round(seconds / period)))
    results: dict[str, ModeLatency] = {}
    idle = float("nan")
    if "on-demand" in modes:
        windows = sampler.stream()
        for _ in range(min(200, ticks)):  # warm-up: first calls allocate
            next(windows)
        results["on-demand"] = ModeLatency.from_times("on-demand", _paced(windows, ticks, period))
    if "stream" in modes:
        with sampler.stream(prefetch=prefetch, producer_threads=threads) as windows:
            windows.fill()
            times = _paced(windows, ticks, period)
            results["stream"] = ModeLatency.from_times("stream", times, windows.underruns)
            windows.fill()  # paused: the producer has nothing left to do
            time.sleep(0.1)
            cpu = time.process_time()
            time.sleep(pause_s)
            idle = (time.process_time() - cpu) / pause_s
    return LatencyReport(str(sampler.path), sampler.n_neurons, sampler.n_bins, threads,
                         float(period_ms), prefetch, results, float(idle),
                         {**cpu_description(), "matmul_float32": matmul_calibration()})
