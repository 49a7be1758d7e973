"""How SPEC §4 prints numbers: money in USD rounded to 4 digits, rates as fractions 0–1, the
Wilson interval, None where undefined. Shared by the summary and the paginated tables."""

import math

Z95 = 1.959964
RATE_DIGITS = 4
MONEY_DIGITS = 4


def money(value) -> float:
    return round(float(value), MONEY_DIGITS)


def ratio(num, den, digits: int = RATE_DIGITS) -> float | None:
    return round(float(num) / float(den), digits) if den else None


def wilson_ci95(accepted: int, reviewed: int) -> list[float] | None:
    """Wilson score interval at z = 1.959964; None when nothing is reviewed."""
    if not reviewed:
        return None
    n, p, z2 = reviewed, accepted / reviewed, Z95 * Z95
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Rounded outwards (as in the SPEC example), so the printed interval still covers 95%.
    scale = 10**RATE_DIGITS
    low = math.floor(max(0.0, centre - half) * scale) / scale
    high = math.ceil(min(1.0, centre + half) * scale) / scale
    return [low, high]


def acceptance(row: dict) -> dict:
    reviewed, accepted = row["reviewed"], row["accepted"]
    return {
        "takes": row["takes"],
        "reviewed": reviewed,
        "accepted": accepted,
        "rejected": reviewed - accepted,
        "acceptance_rate": ratio(accepted, reviewed),
        "acceptance_ci95": wilson_ci95(accepted, reviewed),
    }


def costs(row: dict) -> dict:
    spend = row["spend_usd"]
    return {
        "spend_usd": money(spend),
        "accepted_seconds": float(row["accepted_seconds"]),
        "cost_per_accepted_usd": ratio(spend, row["accepted"], MONEY_DIGITS),
        "cost_per_accepted_second_usd": ratio(spend, row["accepted_seconds"], MONEY_DIGITS),
    }
