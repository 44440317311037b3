//! The api's own middleware, wrapped around every route in `startup.rs`.

pub mod cors;
pub mod proxy;
pub mod rate_limit;
pub mod security_headers;
