"""CPU threads for torch in worker processes: each process gets its share of the cores."""

import os

from django.conf import settings

_configured = False


def torch_threads():
    if settings.RELAY_TORCH_THREADS > 0:
        return settings.RELAY_TORCH_THREADS
    concurrency = int(os.environ.get("RELAY_WORKER_CONCURRENCY_EFFECTIVE", "1") or 1)
    return max(1, (os.cpu_count() or 1) // max(1, concurrency))


def configure_torch():
    """Call before any torch work in a task; cheap after the first call."""
    global _configured
    if _configured:
        return
    import torch

    torch.set_num_threads(torch_threads())
    _configured = True
