"""Hooks that accounts publishes for higher apps to register in their `AppConfig.ready`.

accounts must not import merchants (apps depend one way), so sign-up announces a merchant
owner here and merchants creates the draft merchant in its receiver.
"""

from django.dispatch import Signal

# Sent inside the sign-up transaction, after the user is saved and given the merchant owner
# role. Keyword arguments: `user`, `business_name`, `request`. Receivers run in that same
# transaction, so an exception in one undoes the whole sign-up.
user_signed_up_as_merchant = Signal()
