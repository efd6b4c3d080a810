"""Pages of lists that must stay cheap at any size: the total is counted only up to a cap, or not
at all, and the next page is known from one row more than the page holds."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class CappedPage:
    """A page shaped like Flask-SQLAlchemy's pagination for the templates' pagers; `pages` is
    known only when the total was counted and is exact."""

    items: list
    page: int
    per_page: int
    has_next: bool
    total: int | None = None  # None: not counted
    total_capped: bool = False  # the count stopped at the cap: "N or more"

    @classmethod
    def from_rows(cls, rows, page: int, per_page: int, total: int | None = None,
                  cap: int | None = None) -> CappedPage:
        """`rows`: up to per_page + 1 rows read from the page's offset; `total` counted up to `cap`."""
        rows = list(rows)
        capped = total is not None and cap is not None and total >= cap
        return cls(rows[:per_page], page, per_page, len(rows) > per_page,
                   min(total, cap) if total is not None and cap is not None and capped else total, capped)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def pages(self) -> int | None:
        if self.total is None or self.total_capped:
            return None
        return max(1, math.ceil(self.total / self.per_page))
