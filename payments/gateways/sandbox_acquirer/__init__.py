"""The sandbox acquirer: a fake bank as a real HTTP service (`manage.py sandbox_acquirer`).

It imports nothing from Django, so it could run anywhere; the management command feeds it
the project's settings. Guide: docs/sandbox-acquirer.md.
"""

from payments.gateways.sandbox_acquirer.config import SandboxConfig
from payments.gateways.sandbox_acquirer.server import SandboxServer, build_server

__all__ = ["SandboxConfig", "SandboxServer", "build_server"]
