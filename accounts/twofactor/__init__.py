"""Two-factor authentication: TOTP authenticator apps and single-use recovery codes.

Built on django-otp. `services` holds every write, `selectors` every read, `views` the
setup, verification and management pages; the wall itself is
`accounts.middleware.TwoFactorWallMiddleware`.
"""
