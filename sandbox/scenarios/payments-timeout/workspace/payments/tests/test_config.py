import unittest

from payments.settings import load, problems


class ConfigTest(unittest.TestCase):
    def test_the_shipped_config_is_safe(self) -> None:
        self.assertEqual(problems(load()), [])

    def test_a_timeout_below_the_banks_latency_is_caught(self) -> None:
        self.assertEqual(
            problems({"bank_api": {"timeout_ms": 50}}), ["bank_api.timeout_ms below 1000 ms"]
        )

    def test_a_retry_storm_is_caught(self) -> None:
        found = problems({"bank_api": {"timeout_ms": 5000, "retries": 9}})
        self.assertEqual(found, ["bank_api.retries above 5 (retry storm)"])
