"""Stop at once, naming the URL, when the test database server is unreachable."""

import os
import sys

import environ
import psycopg


def main() -> int:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/paydesk")
    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as error:
        print(f"PostgreSQL is unreachable at {url}: {error}".strip(), file=sys.stderr)
        print("Start PostgreSQL or set DATABASE_URL, then run `make test` again.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
