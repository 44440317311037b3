//! Keel's REST API as a library: `main.rs` only parses the command line, so tests run the
//! real [`startup::Application`] on port 0.

pub mod body_limit;
pub mod conditional;
pub mod docs;
pub mod error;
pub mod extract;
pub mod fallback;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod object_bodies;
pub mod observe;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod state;
