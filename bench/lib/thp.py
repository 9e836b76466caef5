"""Runs a command with transparent huge pages switched off or on for it, whatever the
command does itself: how BENCHMARKS.md compares one binary with and without THP.

  python3 bench/lib/thp.py off CMD [ARGS...]   # prctl(PR_SET_THP_DISABLE, 1): no THP
  python3 bench/lib/thp.py on CMD [ARGS...]    # flag cleared: the system's THP setting

The flag is inherited across fork(2) and kept across execve(2) (PR_SET_THP_DISABLE(2const)),
so the command runs under it from its first instruction. A binary that sets the flag
itself (s3bridge does, in main) cannot be switched back on from outside.
"""

import ctypes
import os
import sys

PR_SET_THP_DISABLE = 41  # <linux/prctl.h>

mode, command = sys.argv[1], sys.argv[2:]
if mode not in ("on", "off") or not command:
    sys.exit(__doc__)
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_THP_DISABLE, 1 if mode == "off" else 0, 0, 0, 0) != 0:
    sys.exit(f"prctl(PR_SET_THP_DISABLE): {os.strerror(ctypes.get_errno())}")
os.execvp(command[0], command)
