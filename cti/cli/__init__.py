"""Command-line entry points: cti-server, cti-sim, cti-monitor, cti-call, cti-keys, cti-demo, cti-report."""
