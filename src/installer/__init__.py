"""onsite: plan, push and install a multi-node highly available system."""

__version__ = "0.1.0"
