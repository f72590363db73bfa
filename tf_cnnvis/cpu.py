"""What this CPU can do, read without starting TensorFlow."""

from __future__ import annotations

import os


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


# Instruction sets that decide the network's speed on a CPU, as /proc/cpuinfo names them.
SPEED_FLAGS = {"avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX"}


def cpu_model() -> str:
    """The CPU's model name as the system reports it, with the instruction sets that decide the
    network's speed (e.g. 'Intel(R) Xeon(R) Processor; AVX-512, AVX512-BF16, AMX'), else the
    machine type: speed figures mean little without it."""
    import platform

    name, flags = "", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    features = [shown for flag, shown in SPEED_FLAGS.items() if flag in flags]
    name = name or platform.processor() or platform.machine()
    return f"{name}; {', '.join(features)}" if features else name


def usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
