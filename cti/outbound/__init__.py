"""Outbound campaigns: progressive dialling from a CSV file, call-progress classification from
signalling and the tone detector (docs/outbound.md)."""
from .campaign import Campaign, CampaignError, Connect, Contact, Dial, Outcome
from .progress import ProgressClassifier, outcome_of_cause

__all__ = ["Campaign", "CampaignError", "Connect", "Contact", "Dial", "Outcome", "ProgressClassifier",
           "outcome_of_cause"]
