"""Order totals with discount codes."""

DISCOUNTS = {
    "WELCOME10": 10,
    "VIP20": 20,
}


def apply_discount(total_cents: int, code: str | None) -> int:
    """Return the total after the discount named by `code` (percent off)."""
    if not code:
        return total_cents
    percent = DISCOUNTS[code.upper()]
    return total_cents - total_cents * percent // 100


def order_total(items: list[tuple[int, int]], code: str | None = None) -> int:
    """Sum of price x quantity, discounted."""
    subtotal = sum(price * quantity for price, quantity in items)
    return apply_discount(subtotal, code)
