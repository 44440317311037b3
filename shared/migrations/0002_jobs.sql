-- The job system's tables.

-- Email idempotency ledger: one row per idempotency key; `sent` rows are never sent again.
CREATE TABLE email_deliveries (
    idempotency_key text PRIMARY KEY,
    recipient       text NOT NULL,
    template        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('sending', 'sent')),
    message_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX email_deliveries_created_at_idx ON email_deliveries (created_at);

-- Transactional outbox: jobs written in the same transaction as the change that needs them,
-- moved to Redis by the worker's relay after commit.
CREATE TABLE job_outbox (
    id         bigserial PRIMARY KEY,
    envelope   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
