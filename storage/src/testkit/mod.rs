//! Test support shared by this crate's tests and other crates' (feature `testsuite`): a real
//! PostgreSQL server started and stopped by the tests themselves.

mod host;
mod postgres_server;

pub use postgres_server::{APP_ROLE, OWNER_ROLE, PostgresServer, SUPERUSER, TestDatabase};
