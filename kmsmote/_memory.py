"""Allocation of the large result arrays.

NumPy asks Linux for transparent huge pages (``madvise``) for every array of
at least 4 MiB.  On a virtual machine whose balloon device reports free
memory back to the host (virtio-balloon free page reporting: Firecracker and
many cloud guests), the free 2 MiB blocks are exactly what the guest hands
back, so a fresh huge page must be faulted in from the host.  On this
project's machine, writing 288 MB for the first time in a fresh process took
380-660 ms with huge pages (30 ms when freed ones were still at hand) and a
steady 115 ms with 4 KiB pages, which come from memory the guest still has.
On such a machine a large result goes to an anonymous private mapping of its
own instead, where the system's policy applies (THP "always" still gives
huge pages; "madvise" and "never" do not).  Elsewhere, and whenever the user
set NumPy's own switch ``NUMPY_MADVISE_HUGEPAGE``, NumPy allocates.
"""

import functools
import math
import mmap
import os
import sys

import numpy as np

_MAPPED_MIN_BYTES = 4 << 20  # NumPy's huge-page threshold
_VIRTIO_BALLOON = "0x0005"  # virtio device id of a memory balloon
_F_FREE_PAGE_REPORTING = 5  # its feature bit VIRTIO_BALLOON_F_REPORTING


def reports_free_pages(root="/sys/bus/virtio/devices"):
    """True if a virtio balloon device with free page reporting is present
    (sysfs lists each device's negotiated feature bits as a string of 0/1,
    bit 0 first)."""
    try:
        names = os.listdir(root)
    except OSError:
        return False
    for name in names:
        try:
            with open(os.path.join(root, name, "device")) as fh:
                if fh.read().strip() != _VIRTIO_BALLOON:
                    continue
            with open(os.path.join(root, name, "features")) as fh:
                bits = fh.read().strip()
        except OSError:
            continue
        if len(bits) > _F_FREE_PAGE_REPORTING and bits[_F_FREE_PAGE_REPORTING] == "1":
            return True
    return False


@functools.lru_cache(maxsize=None)
def _map_large():
    if not sys.platform.startswith("linux") or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    if not (hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS")):
        return False
    return reports_free_pages()


def empty(shape, dtype, mapped=None):
    """``np.empty(shape, dtype)`` in C order.  An array of at least 4 MiB
    lives in an anonymous private mapping of its own (freed with the array)
    when ``mapped``, by default on machines that report free pages to their
    host (see the module's notes)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(int(n) for n in shape) * dtype.itemsize
    if mapped is None:
        mapped = _map_large()
    if not mapped or nbytes < _MAPPED_MIN_BYTES or dtype.hasobject:
        return np.empty(shape, dtype=dtype)
    try:
        buffer = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, ValueError, OverflowError):
        # An address-space limit, say: NumPy raises its own MemoryError if
        # the memory is really not there.
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)
