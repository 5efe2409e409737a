"""The double-entry ledger: accounts, append-only postings and the balances derived from them.

Public interface (everything else is private to the package):

- `payments.ledger.recipes`: build the lines of the standard postings (payment capture with
  fee, refund, refund completion, settlement, payout) for the calling service.
- `payments.ledger.services`: `posting_create` (idempotent by key), `posting_reverse`,
  `account_get_or_create`, `merchant_accounts_open`, the `Line` type.
- `payments.ledger.selectors`: `account_balance`, `merchant_balances`, `posting_get_by_key`,
  `postings_for_source`, `trial_balance`.
- `payments.ledger.checks`: `ledger_check`, the nightly proof that the ledger balances.
- `payments.ledger.checkpoints`: `balance_checkpoints_create`, which keeps balance reads fast.

The chart of accounts and the recipes are documented in docs/ledger.md.
"""
