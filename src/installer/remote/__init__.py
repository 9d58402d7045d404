"""Reaching the nodes: the transport interface, its paramiko implementation
(the only module that imports paramiko), host keys, one connection per node
and the receiver that runs on the nodes."""
