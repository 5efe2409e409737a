"""Payer passkeys (WebAuthn, through py_webauthn) and email one-time codes.

    webauthn.py     thin wrapper over py_webauthn: options, verification, base64url
    ceremonies.py   the generic layer: single-use challenges (optionally bound to data such
                    as a payment) and `authentication_verify` returning `Evidence`
    services.py     passkey registration, naming, removal, sign-in, payer sign-up
    email_codes.py  6-digit codes by email (hashed, expiring, limited, single use)
    selectors.py    reads, scoped to the user

See docs/passkeys.md.
"""
