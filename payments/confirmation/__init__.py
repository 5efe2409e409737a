"""Payment confirmation by the payer: passkeys bound to the payment, the email-code
fallback, the evidence kept with each confirmation, and the verification funnel.

docs/checkout.md describes the flow; the services are in `services.py` (passkeys and
email codes) and `funnel.py` (the attempts), the reads in `selectors.py`.
"""
