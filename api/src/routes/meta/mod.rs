//! The API describing itself.

pub mod schema;
