"""Multi-factor authentication of the global identity (TOTP, WebAuthn keys, recovery codes, remembered
devices), shared by members, partners and operators. docs/mfa.md."""
