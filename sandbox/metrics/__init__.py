"""Bundled incidents' metrics: generated deterministically, backfilled into a real Prometheus."""
