"""Volume data for demos, dashboards and load tests: `manage.py seed_payments`."""
