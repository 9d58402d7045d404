"""A lab of real nodes on this machine (network namespaces with OpenSSH
servers), for tests, benchmarks and anyone trying onsite without hardware."""

from .netns import DEFAULT_NAME, DEFAULT_STATE_DIR, DEFAULT_SUBNET, REQUIRED_TOOLS, Lab, LabError, LabNode, ServerKind, check_host

__all__ = ["DEFAULT_NAME", "DEFAULT_STATE_DIR", "DEFAULT_SUBNET", "REQUIRED_TOOLS", "Lab", "LabError", "LabNode", "ServerKind", "check_host"]
