"""Evaluation metrics (issue 6, in progress): pure functions on feature arrays so far."""
