-- Avatars: the key of the user's avatar object in media storage (local directory or S3
-- bucket). Keys are random and never reused: a replaced or deleted avatar's object is deleted
-- by the `delete_media` job, written to the outbox in the transaction that dropped the key.
ALTER TABLE users ADD COLUMN avatar_key text
    CHECK (avatar_key ~ '^avatars/[0-9a-f]{32}\.(png|jpg|webp)$');
