"""Accounts: registration, sign-in (by password or emailed link), password reset, profiles,
API tokens, and each member's data rights."""
