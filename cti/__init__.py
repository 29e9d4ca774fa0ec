"""CTI middleware: signalling stacks, call model, contact-centre features and the event bus."""

from . import accelerators as _accelerators  # noqa: F401  (registers the protocol accelerators)

__version__ = "0.1.0"
