"""Peak resident memory of a block of code, sampled from /proc (Linux) in a thread.

``tracemalloc`` does not see PyTorch's allocations, so the benchmark samples the process's
resident set size instead and reports the peak increase over the size at the start.
"""

import os
import resource
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes():
    """Resident set size of this process now (bytes); falls back to the lifetime peak."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    """Reset the kernel's resident high-water mark of this process (Linux
    ``/proc/self/clear_refs``); return whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib(since_reset=True):
    """Peak resident memory of this process (MiB): since :func:`reset_peak_rss` when
    ``since_reset`` (the kernel's ``VmHWM``), else over the process's life."""
    if since_reset:
        try:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class PeakMemory:
    """Context manager measuring the peak RSS increase (MiB) while the block runs.

    Examples
    --------
    >>> with PeakMemory() as peak:
    ...     block = bytearray(50 * 2**20)
    >>> peak.mib >= 0
    True
    """

    def __init__(self, interval=0.005):
        self.interval = interval
        self.mib = 0.0

    def __enter__(self):
        self._start = current_rss_bytes()
        self._peak = self._start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, current_rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, current_rss_bytes())
        self.mib = (self._peak - self._start) / 2**20
        return False
