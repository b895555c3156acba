"""FLT-08 throttle: 429 or 503 with ``Retry-After`` as integer seconds, as an HTTP-date, or absent.

``retry_after`` is seconds (int) or a literal HTTP-date string; ``retry_after_format: http-date``
turns seconds into the date that many seconds after the answer. The request is not stored.
"""

from __future__ import annotations

import time
from email.utils import formatdate, parsedate_to_datetime

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec, FaultSpecError

_STATUSES = frozenset({429, 503})


class Throttle(BaseFault):
    kind = "throttle"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.code = self.status("status", 429, _STATUSES)
        self.retry_after = spec.params.get("retry_after")
        self.format = self.text("retry_after_format", "seconds")
        if self.format not in ("seconds", "http-date"):
            raise FaultSpecError("throttle.retry_after_format: use 'seconds' or 'http-date'")
        if isinstance(self.retry_after, str):
            try:
                parsedate_to_datetime(self.retry_after)
            except (TypeError, ValueError):
                raise FaultSpecError("throttle.retry_after: a string must be an HTTP-date") from None
        elif self.retry_after is not None:
            self.integer("retry_after")

    def effect(self, index: int) -> Effect:
        headers: dict[str, str] = {}
        if isinstance(self.retry_after, str):
            headers["Retry-After"] = self.retry_after
        elif self.retry_after is not None:
            # The date is computed when the fault is applied, as a real server would.
            headers["Retry-After"] = (str(int(self.retry_after)) if self.format == "seconds"
                                      else formatdate(time.time() + int(self.retry_after), usegmt=True))
        return Effect(action="respond", status=self.code, message=f"fault {self.spec.name}: throttled",
                      headers=headers)

