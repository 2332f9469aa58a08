//! Test support shared by this crate's tests and other crates' (feature `testsuite`): a real
//! PostgreSQL server started by the tests themselves.

mod postgres_server;

pub use postgres_server::{PostgresServer, TestDatabase};
