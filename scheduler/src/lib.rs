//! Keel's scheduler as a library: THE table of periodic entries ([`schedule`]) and the firing
//! loop ([`firing`]) that enqueues each due slot exactly once across any number of replicas.

pub mod firing;
pub mod schedule;
