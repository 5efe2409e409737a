"""The payment itself: models (Payment, PaymentEvent, IdempotencyRecord) and input rules.

Writes go through `payments.services`, reads through `payments.selectors`.
"""
