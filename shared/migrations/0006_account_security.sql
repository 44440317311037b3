-- Account takeover defences.

-- Whether a provider identity was linked through an email address the provider verified.
-- A password reset through the email link removes the links that were not (their holder never
-- proved they own the address). Links made before this column existed: an account whose email
-- is verified linked through a verified address (unverified addresses only ever created new,
-- unverified accounts).
ALTER TABLE oauth_identities ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
UPDATE oauth_identities i SET email_verified = (u.email_verified_at IS NOT NULL)
FROM users u WHERE u.id = i.user_id;

-- Links sent to the previous address after an email change, to undo it within 72 hours.
ALTER TABLE user_tokens DROP CONSTRAINT user_tokens_purpose_check;
ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'mfa_login', 'undo_email_change'));
