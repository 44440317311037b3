//! The scheduler's integration tests against real Redis. One binary, one file per area.

mod firing;
mod process;
