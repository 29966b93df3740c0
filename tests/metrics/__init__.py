"""Metrics fixtures: a prometheus_client exporter (exporter.py), and real Prometheus and
Alertmanager processes started on free ports (servers.py), reusable by any test."""
