"""CTI middleware: signalling stacks, call model, contact-centre features and the event bus."""

__version__ = "0.1.0"
