"""Check digits of Japanese code numbers (医療機関コード, 保険者番号): weights 2,1,… from the last digit, mod 10."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the check (its last digit is the check digit).

    The MHLW rule for 保険者番号 and 医療機関コード (multiply by 2 and 1 from the last digit, add the digits
    of each product, 10 minus the remainder) is the Luhn method.
    """
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
