-- Two-factor authentication (TOTP) and recovery codes.

-- The TOTP secret, sealed (XChaCha20-Poly1305 under a key derived from KEEL_SECRET_KEY).
-- Set at setup; `totp_enabled_at` once a code proved the authenticator works.
ALTER TABLE users
    ADD COLUMN totp_secret     text,
    ADD COLUMN totp_enabled_at timestamptz,
    -- The latest TOTP time step accepted: a code is accepted at most once.
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Short-lived tokens that stand between a correct password and the second factor.
ALTER TABLE user_tokens DROP CONSTRAINT user_tokens_purpose_check;
ALTER TABLE user_tokens ADD CONSTRAINT user_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'mfa_login'));
