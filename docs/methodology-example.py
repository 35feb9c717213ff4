#!/usr/bin/env python3
"""The worked example of docs/methodology.md, computed from its six rows of raw data.

Run: python3 docs/methodology-example.py  (standard library only). It prints every number the
example quotes: the number of forms, each criterion index, each factor index and the SIPAS
index, with the rule of QĐ 1001/QĐ-BNV (see docs/methodology.md, "From the raw data to the
published figures").
"""
from fractions import Fraction

FACTORS = {
    "TC": ["TC1", "TC2", "TC3", "TC4"],
    "TT": ["TT1", "TT2", "TT3", "TT4"],
    "CC": ["CC1", "CC2", "CC3", "CC4", "CC5"],
    "KQ": ["KQ1", "KQ2", "KQ3"],
    "PA": ["PA1", "PA2", "PA3"],
}
COLUMNS = [c for items in FACTORS.values() for c in items]

# response_id, counted, excluded_reason, then TC1..PA3 as in the CSV ("" = unanswered,
# 0 = "Không áp dụng").
ROWS = [
    (101, 1, "", "5 4 4 3  4 4 5 4  5 5 4 4 5  4 4 3  0 0 0"),
    (102, 1, "", "3 4 2 4  3 3 4 4  4 3 3 4 4  2 3 4  4 3 0"),
    (103, 1, "", "4 5 5 5  5 4 4 5  5 5 5 5 5  5 5 5  5 5 5"),
    (104, 1, "", "2 3 3 -  4 - 3 2  3 4 2 3 3  3 4 4  0 0 0"),
    (105, 1, "", "4 4 4 4  4 4 4 4  4 4 4 4 4  4 4 4  2 0 -"),
    (106, 0, "too_fast", "5 5 5 5  5 5 5 5  5 5 5 5 5  5 5 5  5 5 5"),
]


def parse(codes):
    return {c: (None if v == "-" else int(v)) for c, v in zip(COLUMNS, codes.split())}


def pct(x):
    return f"{float(x) * 100:.2f}%" if x is not None else "–"


def main():
    print("| response_id | counted | excluded_reason | " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * (3 + len(COLUMNS)))
    for rid, counted, reason, codes in ROWS:
        cells = ["" if v == "-" else v for v in codes.split()]
        print(f"| {rid} | {counted} | {reason} | " + " | ".join(cells) + " |")
    print()
    counted = [parse(codes) for _, c, _, codes in ROWS if c == 1]
    print(f"Số phiếu (counted = 1): {len(counted)}; left out (counted = 0): "
          f"{sum(1 for r in ROWS if r[1] == 0)}")
    print()
    print("| Criterion | valid answers (1–5) | of which 4 or 5 | not applicable (0) | unanswered | index |")
    print("|---|---|---|---|---|---|")
    factor_index = {}
    for factor, items in FACTORS.items():
        indices = []
        for item in items:
            values = [r[item] for r in counted]
            valid = [v for v in values if v is not None and v >= 1]
            satisfied = [v for v in valid if v in (4, 5)]
            na = sum(1 for v in values if v == 0)
            empty = sum(1 for v in values if v is None)
            index = Fraction(len(satisfied), len(valid)) if valid else None
            if index is not None:
                indices.append(index)
            print(f"| {item} | {len(valid)} | {len(satisfied)} | {na} | {empty} | "
                  f"{len(satisfied)}/{len(valid)} = {pct(index)} |")
        factor_index[factor] = sum(indices) / len(indices) if indices else None
    print()
    print("| Factor | index (mean of its criteria) |")
    print("|---|---|")
    for factor, index in factor_index.items():
        print(f"| {factor} | {pct(index)} ({float(index):.6f}) |")
    present = [i for i in factor_index.values() if i is not None]
    sipas = sum(present) / len(present)
    print()
    print(f"SIPAS index = mean of {len(present)} factor indices = {pct(sipas)} ({float(sipas):.6f})")


if __name__ == "__main__":
    main()
