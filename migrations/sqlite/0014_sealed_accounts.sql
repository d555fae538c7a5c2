-- Login accounts keep email and name encrypted (SPEC §11): `sealed` holds them under a
-- per-account key, `sealed_key` that key wrapped by the installation's key file, and the
-- account is found by `email_index`, a keyed hash of the email. The server seals accounts
-- stored before this migration at its next start (until then `email_index` holds the
-- plaintext email and `display_name` the name; afterwards `display_name` is empty).
-- Erasure clears `sealed` and `sealed_key` and sets `email_index` to `erased:<user id>`.
ALTER TABLE user_accounts RENAME COLUMN email TO email_index;
ALTER TABLE user_accounts ADD COLUMN sealed BLOB;
ALTER TABLE user_accounts ADD COLUMN sealed_key BLOB;
