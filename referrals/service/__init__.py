"""Referral rules: the directory and its HSDS exchange, volunteers, referrals and partner links, inbound referrals."""
