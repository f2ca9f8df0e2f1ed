"""A bubblewrap sandbox with a warm Python worker, for running model-written pandas code.

``launcher`` builds the bubblewrap command line (what is visible, as whom), ``limits`` says what
the code may use, ``protocol`` frames the messages, ``client`` manages one worker from the
host, and ``worker`` is the script that runs inside the sandbox.
"""

from tools.sandbox.client import Worker, WorkerGone
from tools.sandbox.launcher import SandboxUnavailable, find_bwrap, probe
from tools.sandbox.limits import DEFAULT_LIMITS, SandboxLimits

__all__ = ["DEFAULT_LIMITS", "SandboxLimits", "SandboxUnavailable", "Worker", "WorkerGone",
           "find_bwrap", "probe"]
