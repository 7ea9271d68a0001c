"""Consultation rounds (adviesvraag): a question to expert panels within a stage."""
