"""Devices and private random generators for the torch engine (no scikit-learn)."""

from __future__ import annotations

import warnings

import torch


def check_device_name(device: str) -> torch.device | None:
    """The :class:`torch.device` a name stands for (None for ``"auto"``),
    whether or not this machine has it; ``ValueError`` for any other name."""
    if device == "auto":
        return None
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got {device!r}"
        )
    return resolved


def resolve_device(device: str) -> torch.device:
    """Turn a device name into a :class:`torch.device`, or raise ``ValueError``.

    ``"auto"`` picks CUDA, then MPS, then the CPU.  A device that this machine
    does not have is an error rather than a silent fall back to the CPU.
    """
    resolved = check_device_name(device)
    if resolved is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device={device!r} was requested but this machine has {count} "
                f"CUDA device(s): use an index in [0, {count - 1}]."
            )
        return resolved
    if resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(
                f"device={device!r} was requested but MPS is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
    return resolved


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A private generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def float_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device supports it (MPS does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


def loading_device(name: str, estimator_name: str) -> torch.device:
    """The saved device when this machine has it, else the CPU (with a note)."""
    try:
        return resolve_device(name)
    except ValueError:
        warnings.warn(
            f"{estimator_name} was saved on device {name!r}, which this machine "
            "does not have; it is loaded on the CPU (set device='cpu' to keep "
            "training it there).",
            UserWarning,
            stacklevel=4,
        )
        return torch.device("cpu")


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError other backends raise."""
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc)


def out_of_memory_error(
    device: torch.device, n_rows: int, n_cols: int, batch_size: int | None
) -> MemoryError:
    """The error to raise instead of a device's out-of-memory error
    (``batch_size`` None for full-batch L-BFGS)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    what = f"{device} ran out of memory training on {n_rows} rows x {n_cols} columns"
    if batch_size is None:
        return MemoryError(
            f"{what} with solver='lbfgs', which computes on all rows at once in "
            "float64. Use solver='adam' with a batch_size, or device='cpu'."
        )
    return MemoryError(
        f"{what} with batch_size={batch_size}. Try a smaller batch_size "
        f"(for example {max(1, batch_size // 4)}) or smaller hidden_layer_sizes; the "
        "training rows are copied to the device once, so for data larger than "
        "the device memory train on chunks with partial_fit, or use device='cpu'."
    )
