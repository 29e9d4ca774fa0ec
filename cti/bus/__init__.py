"""The CTI event bus: ZeroMQ PUB + snapshot/replay ROUTER + command ROUTER (Clone pattern), auth, schema."""
