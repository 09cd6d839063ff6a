"""Pulumi entry point: build what this stack's typed config enables (see stacks/program.py)."""

from cluster_tls.stacks.program import main

main()
