"""django-allauth adapter: Paydesk's hooks into sign-up and sign-in."""

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    pass
