"""Live and historical contact-centre statistics (formulas in docs/stats.md)."""
from .service import QueueFigures, agent_figures, StatsCollector, abandon_rate, service_level, service_level_2

__all__ = ["QueueFigures", "agent_figures", "StatsCollector", "abandon_rate", "service_level", "service_level_2"]
