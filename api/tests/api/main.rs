//! The api's integration tests: the real `Application` on port 0 against real PostgreSQL and
//! Redis, one database and one Redis namespace per test. One binary, one file per area.

mod accounts;
mod auth_tokens;
mod avatars;
mod connections;
mod contract;
mod cors;
mod docs;
mod email_change;
mod enumeration;
mod errors;
mod flows;
mod guide;
mod health;
mod helpers;
mod lifecycle;
mod limits;
mod media_s3;
mod metrics;
mod oauth;
mod observability;
mod openapi;
mod outages;
mod proxies;
mod rate_limit;
mod request_id;
mod security_headers;
mod sentry;
mod tls;
mod two_factor;
