"""Cursor pagination, the default for every list endpoint of the API."""

from rest_framework.pagination import CursorPagination as DrfCursorPagination


class CursorPagination(DrfCursorPagination):
    """Newest first; `?page_size=` up to 100; `next` and `previous` are opaque cursor URLs.

    Cursors stay correct while rows are added, unlike page numbers. Views whose model has
    no `created_at` set `ordering` themselves (it must end with a unique field).
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-id")
