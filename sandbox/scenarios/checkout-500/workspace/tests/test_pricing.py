import unittest

from checkout.app import handle_checkout
from checkout.pricing import order_total


class PricingTest(unittest.TestCase):
    def test_total_without_code(self) -> None:
        self.assertEqual(order_total([(1000, 2), (250, 1)]), 2250)

    def test_known_code(self) -> None:
        self.assertEqual(order_total([(1000, 1)], "welcome10"), 900)

    def test_unknown_or_expired_code_is_ignored(self) -> None:
        self.assertEqual(order_total([(1000, 1)], "SPRING24"), 1000)

    def test_checkout_never_500s_on_a_bad_code(self) -> None:
        status, body = handle_checkout({"items": [[500, 2]], "discount_code": "SPRING24"})
        self.assertEqual((status, body), (200, {"total_cents": 1000}))


if __name__ == "__main__":
    unittest.main()
