import unittest

from ingest.logconfig import load, problems


class LoggingConfigTest(unittest.TestCase):
    def test_the_shipped_config_cannot_fill_the_disk(self) -> None:
        self.assertEqual(problems(load()), [])

    def test_debug_and_no_rotation_are_caught(self) -> None:
        found = problems({"level": "DEBUG", "rotate": {"max_bytes": 0, "keep": 0}})
        self.assertEqual(len(found), 2)
