"""The reference endpoint: pgbench's TPC-B transaction behind the same DRF stack as the API.

It is the floor cost of one durable write through Django: API-key authentication, the
per-key rate limits, JSON in and out, and one transaction of five statements that commits
to disk. `POST /api/v1/payments` is measured against it (docs/benchmarks.md).
"""

import random
from typing import Any

from django.db import connection, transaction
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants.authentication import api_merchant

# pgbench's sizes per unit of scale (src/bin/pgbench/pgbench.c: naccounts, ntellers).
ACCOUNTS_PER_BRANCH = 100_000
TELLERS_PER_BRANCH = 10
# pgbench's tpcb-like script draws delta from [-5000, 5000].
DELTA_LIMIT = 5000

_scale: int | None = None


def _pgbench_scale() -> int:
    """Return the scale `pgbench -i` used (the number of branches), read once per process."""
    global _scale
    if _scale is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pgbench_branches")
            (_scale,) = cursor.fetchone()
    return _scale


class TpcbInputSerializer(serializers.Serializer[dict[str, Any]]):
    delta = serializers.IntegerField(required=False, min_value=-DELTA_LIMIT, max_value=DELTA_LIMIT)


class TpcbReferenceApi(APIView):
    """Run one TPC-B transaction with random account, teller and branch, like pgbench."""

    def post(self, request: Request) -> Response:
        # Touch the caller's merchant as every API view does to scope its queries.
        merchant = api_merchant(request)
        data = TpcbInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scale = _pgbench_scale()
        delta = data.validated_data.get("delta", random.randint(-DELTA_LIMIT, DELTA_LIMIT))
        aid = random.randint(1, ACCOUNTS_PER_BRANCH * scale)
        tid = random.randint(1, TELLERS_PER_BRANCH * scale)
        bid = random.randint(1, scale)
        # pgbench's built-in "TPC-B (sort of)" script, statement for statement.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE pgbench_accounts SET abalance = abalance + %s WHERE aid = %s", [delta, aid]
            )
            cursor.execute("SELECT abalance FROM pgbench_accounts WHERE aid = %s", [aid])
            (abalance,) = cursor.fetchone()
            cursor.execute(
                "UPDATE pgbench_tellers SET tbalance = tbalance + %s WHERE tid = %s", [delta, tid]
            )
            cursor.execute(
                "UPDATE pgbench_branches SET bbalance = bbalance + %s WHERE bid = %s", [delta, bid]
            )
            cursor.execute(
                "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                "VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP)",
                [tid, bid, aid, delta],
            )
        return Response(
            {"merchant": str(merchant.public_id), "aid": aid, "abalance": abalance},
            status=status.HTTP_201_CREATED,
        )
