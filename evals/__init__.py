"""Evaluation harness: score whole runs of the agents on incident cases."""
