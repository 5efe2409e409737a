"""What the CSV exports of the payments and refunds lists share: cells, lines, response.

UTF-8 with a byte order mark, so that Excel opens Chinese text right. Free text that a
spreadsheet would read as a formula stays text. The response streams: lines are encoded
as the rows are read.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from payments.views.portal import filters_query

BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: a description such as
# "=HYPERLINK(...)" must stay text (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def text_cell(value: str) -> str:
    """Return free text as a cell that a spreadsheet shows as text, never as a formula."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def instant_cell(value: datetime | None) -> str:
    """Return a moment in the local time zone, ISO 8601, or "" for none."""
    return timezone.localtime(value).isoformat() if value else ""


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Yield the BOM, the header and one CSV line per row, as the rows are read."""
    writer = csv.writer(_Echo())
    yield BOM
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_response(lines: Iterator[str], name: str, *parts: str) -> StreamingHttpResponse:
    """Stream `lines` as the attachment "<name>-<parts...>-<today>.csv" (empty parts left out)."""
    filename = "-".join([name, *[part for part in parts if part], timezone.localdate().isoformat()])
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def invalid_filters_redirect(request: HttpRequest, list_url_name: str) -> HttpResponse:
    """Send the user back to the list, whose same filters show their errors: no export."""
    query = filters_query(request)
    return redirect(reverse(list_url_name) + (f"?{query}" if query else ""))
