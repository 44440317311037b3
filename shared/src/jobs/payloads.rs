//! Every job type's payload. Names are stable: never rename one that has been released.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Job;
use crate::domain::{MediaKey, UserId};
use crate::email::Email;

/// Does nothing (optionally after sleeping): smoke tests and benchmarks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Noop {
    /// Milliseconds to sleep before finishing (at most 60 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
}

impl Job for Noop {
    const NAME: &'static str = "noop";
    const MAX_ATTEMPTS: u32 = 1;
}

/// Sends one email. Idempotent: the worker records each `idempotency_key` it sent in
/// PostgreSQL and never sends the same key twice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SendEmail {
    /// Unique per message (e.g. `verify:<uuid>`).
    pub idempotency_key: String,
    /// Recipient address.
    pub to: String,
    /// The email, with the values its template needs.
    pub email: Email,
}

impl Job for SendEmail {
    const NAME: &'static str = "send_email";
    const VERSION: u32 = 2;
    const QUEUE: &'static str = "email";
    const MAX_ATTEMPTS: u32 = 8;
    const BACKOFF: Duration = Duration::from_secs(10);
}

/// `send_email` as version 1 queued it: a template name and untyped values. Still decoded
/// (and converted with [`Email::from_template`]) so jobs queued before an upgrade, in the
/// queue, the outbox or the dead set, are sent; new jobs use [`SendEmail`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendEmailV1 {
    /// Unique per message.
    pub idempotency_key: String,
    /// Recipient address.
    pub to: String,
    /// Template name.
    pub template: String,
    /// Values the template uses.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Job for SendEmailV1 {
    const NAME: &'static str = SendEmail::NAME;
    const QUEUE: &'static str = SendEmail::QUEUE;
    const MAX_ATTEMPTS: u32 = SendEmail::MAX_ATTEMPTS;
    const BACKOFF: Duration = SendEmail::BACKOFF;
}

/// What an emailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Verify an address (sign-up, resend, email change).
    VerifyEmail,
    /// Reset a forgotten password.
    ResetPassword,
    /// Undo an email change (sent to the previous address).
    UndoEmailChange,
}

/// Sends an email carrying a single-use link. The job holds no token: the worker makes one
/// when it sends, stores only its hash, and puts it only in the email, so no link token sits
/// in the outbox, the queue or the dead set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SendEmailLink {
    /// Unique per request (the delivery ledger's key).
    pub idempotency_key: String,
    /// What the link does.
    pub purpose: LinkPurpose,
    /// The address to send it to (for a verification, the address being verified).
    pub to: String,
    /// The account, when the request knew it; otherwise the account that has `to`, if any
    /// (nothing is sent for an address without one, so the request need not look).
    pub user: Option<UserId>,
}

impl Job for SendEmailLink {
    const NAME: &'static str = "send_email_link";
    const QUEUE: &'static str = "email";
    const MAX_ATTEMPTS: u32 = 8;
    const BACKOFF: Duration = Duration::from_secs(10);
}

/// Deletes dead jobs older than the retention period (periodic).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PurgeDeadJobs {
    /// Dead jobs older than this many hours are deleted.
    pub older_than_hours: u64,
}

impl Job for PurgeDeadJobs {
    const NAME: &'static str = "purge_dead_jobs";
    const QUEUE: &'static str = "critical";
    const MAX_ATTEMPTS: u32 = 3;
}

/// Records each queue's depth as metrics and logs it (periodic).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecordQueueDepth {}

impl Job for RecordQueueDepth {
    const NAME: &'static str = "record_queue_depth";
    const QUEUE: &'static str = "critical";
    const MAX_ATTEMPTS: u32 = 1;
}

/// Deletes email delivery records older than the retention period (periodic).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PurgeSentEmails {
    /// Records older than this many days are deleted.
    pub older_than_days: u64,
}

impl Job for PurgeSentEmails {
    const NAME: &'static str = "purge_sent_emails";
    const QUEUE: &'static str = "critical";
    const MAX_ATTEMPTS: u32 = 3;
}

/// Deletes expired or used email tokens and ended sessions (periodic).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PurgeExpiredTokens {}

impl Job for PurgeExpiredTokens {
    const NAME: &'static str = "purge_expired_tokens";
    const QUEUE: &'static str = "critical";
    const MAX_ATTEMPTS: u32 = 3;
}

/// Deletes one object from media storage: an avatar that was replaced or removed, or that of
/// a deleted account. Written to the outbox by the transaction that dropped the key, so it
/// runs only once that change committed. Idempotent: an object already gone counts as
/// deleted. A storage outage is retried with backoff; a payload whose key is not a valid
/// media key never decodes and goes straight to the dead set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeleteMedia {
    /// The object's key.
    pub key: MediaKey,
}

impl Job for DeleteMedia {
    const NAME: &'static str = "delete_media";
    const MAX_ATTEMPTS: u32 = 10;
    const BACKOFF: Duration = Duration::from_secs(10);
    const TIMEOUT: Duration = Duration::from_secs(60);
}
