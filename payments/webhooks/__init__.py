"""Webhook delivery: the event outbox, signed HTTP deliveries, retries and redelivery.

Other code publishes with `payments.webhooks.services.webhook_event_publish` inside its
own transaction; everything else here is internal to delivery.
"""
