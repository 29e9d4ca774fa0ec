"""Voicemail: record a caller's message on a timeslot, keep it with the received faxes (see docs/voicemail.md)."""
