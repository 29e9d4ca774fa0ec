"""Board drivers: one Board API (drivers.base), backends opened by name (drivers.registry)."""
