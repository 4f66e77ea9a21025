"""Where a run ran: host, Slurm job and node, visible GPUs, torch version, threads.

Torch-free: `missionctl run` records these for any command without paying for
`import torch`, and the trainer adds them to its `start` event. The ledger
compares them between the runs of an experiment: a baseline from another GPU
type, node or torch version is a confound.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path

ENV_SLURM_JOB = "SLURM_JOB_ID"
ENV_SLURM_NODE = "SLURMD_NODENAME"
ENV_CUDA_DEVICES = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class Environment:
    """The facts about a run's machine that do not need torch."""

    host: str
    slurm_job_id: str | None
    slurm_node: str | None
    cuda_visible_devices: str | None
    torch_version: str | None


def environment() -> Environment:
    """This process's environment facts."""
    return Environment(
        host=socket.gethostname(),
        slurm_job_id=os.environ.get(ENV_SLURM_JOB) or None,
        slurm_node=os.environ.get(ENV_SLURM_NODE) or None,
        cuda_visible_devices=os.environ.get(ENV_CUDA_DEVICES),
        torch_version=installed_torch_version(),
    )


def installed_torch_version() -> str | None:
    """The installed torch's version, read from its metadata (no import), or None."""
    import importlib.metadata  # a few ms, paid only by runs that record their environment

    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "cpu"


def visible_gpu_name() -> str | None:
    """The name of the first GPU this process may use (NVML, no torch), or None.

    For runs of any command, which may use a GPU without telling us: the GPU a
    command would get is the first one in `CUDA_VISIBLE_DEVICES`.
    """
    visible = os.environ.get(ENV_CUDA_DEVICES)
    first = (visible or "0").split(",")[0].strip()
    if visible is not None and (not first or first.startswith("-")):
        return None  # CUDA_VISIBLE_DEVICES="" or "-1": no GPU for this process
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no driver, no library, no GPU: nothing to report
        return None
    try:
        if first.isdigit():
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(first))
        else:
            handle = pynvml.nvmlDeviceGetHandleByUUID(first)
        name = pynvml.nvmlDeviceGetName(handle)
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # an index or UUID NVML does not know
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def cpu_threads() -> int:
    """Threads a command would use by default: `OMP_NUM_THREADS`, else the usable cores."""
    text = os.environ.get("OMP_NUM_THREADS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    return len(os.sched_getaffinity(0))
