"""The REST API foundation shared by every app: error shape, pagination."""
