//! What every job handler receives.

use std::sync::Arc;

use keel_shared::Config;
use keel_shared::db::PgPool;
use keel_shared::email::Mailer;
use keel_shared::jobs::Queue;
use keel_shared::media::Media;

/// Shared resources of the worker process; cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    /// PostgreSQL.
    pub db: PgPool,
    /// The queue, for jobs that enqueue others.
    pub queue: Queue,
    /// Outgoing email.
    pub mailer: Arc<Mailer>,
    /// Media storage (avatars).
    pub media: Media,
    /// The process configuration.
    pub config: Arc<Config>,
}
