"""Outbound campaigns: progressive dialling from a CSV file, call-progress classification."""
from .campaign import Campaign, CampaignError, Connect, Contact, Dial, Outcome
from .progress import ProgressClassifier

__all__ = ["Campaign", "CampaignError", "Connect", "Contact", "Dial", "Outcome", "ProgressClassifier"]
