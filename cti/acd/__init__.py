"""Automatic call distribution: agents, queues, routing strategies, CRM route requests.

The engine is sans-IO (:class:`~cti.acd.engine.AcdEngine`): the CTI server feeds it what it
observes and executes and publishes the events it returns. See docs/acd.md.
"""
from .agents import Agent, AgentEvent, AgentState, AgentStateError
from .engine import AcdEngine, AcdError
from .queue import VOICEMAIL, QueueConfig, QueueEvent
from .strategies import Strategy

__all__ = ["AcdEngine", "AcdError", "Agent", "AgentEvent", "AgentState", "AgentStateError",
           "QueueConfig", "QueueEvent", "Strategy", "VOICEMAIL"]
