//! The worker's integration tests, against real PostgreSQL, Redis and an SMTP sink. One
//! binary, one file per area.

mod cli;
mod email;
mod helpers;
mod media;
mod outbox;
mod pipeline;
mod process;
mod sentry;
