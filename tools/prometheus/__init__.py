"""The `prometheus` toolset: PromQL queries, metric discovery, alerting rules, Alertmanager."""
