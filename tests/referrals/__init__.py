"""Referrals: directory, volunteers, outbound and inbound referrals, partner links."""
