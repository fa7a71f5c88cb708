"""Process-level machinery.

Worker processes (`worker`, `child`), staged output published atomically (`staging`), the
per-stage time limit (`watchdog`) and native stderr capture (`stderr_capture`).
"""
