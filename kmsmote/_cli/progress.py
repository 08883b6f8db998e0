"""Progress: one line on stderr, redrawn by a thread, only on a terminal.

Phases: reading, then the estimator's own (clustering, neighbours,
generation, which ``kmsmote.report_phases`` passes to ``_Progress.phase``),
then writing.
"""

import threading
import time


class _Progress:
    """Current phase, a spinner and the elapsed time, on one line of ``stream``."""

    _FRAMES = "|/-\\"

    def __init__(self, stream, enabled):
        self.stream = stream
        self.enabled = enabled
        self.phase_name = None
        self.start = self.phase_start = time.perf_counter()
        self.timings = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread = None
        if enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def phase(self, name):
        now = time.perf_counter()
        with self._lock:
            if self.phase_name is not None:
                self.timings.append((self.phase_name, now - self.phase_start))
            self.phase_name, self.phase_start = name, now

    def _run(self):
        frame = 0
        # Short runs finish before anything is drawn.
        if self._stop.wait(0.3):
            return
        while not self._stop.is_set():
            with self._lock:
                now = time.perf_counter()
                if self.phase_name is not None:
                    line = (f"\r{self._FRAMES[frame % 4]} {self.phase_name} "
                            f"{now - self.phase_start:5.1f} s  (total {now - self.start:.1f} s)")
                    self.stream.write(line + "\033[K")
                    self.stream.flush()
                    self._drawn = True
            frame += 1
            self._stop.wait(0.1)

    def close(self):
        self.phase(None)
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()
