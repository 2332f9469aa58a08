//! The store a test cluster's nodes share: a PostgreSQL database or a keyspace on a real
//! Cassandra node (the ScyllaDB backend), each the test binary's own server.

use std::sync::Arc;

use tally_storage::testkit::{CassandraNode, PostgresServer, TestDatabase};
use tally_storage::{PostgresStore, ScyllaStore, SharedStore};

use super::super::{postgres_env, scylla_env};

/// The shared store of a test cluster.
pub enum SharedStoreServer {
    /// A fresh database on the test binary's PostgreSQL server.
    Postgres(TestDatabase),
    /// A fresh keyspace on the test binary's Cassandra node.
    Cassandra {
        node: &'static CassandraNode,
        keyspace: String,
    },
}

impl SharedStoreServer {
    /// A fresh database on the test binary's PostgreSQL server.
    pub async fn postgres() -> Self {
        Self::Postgres(PostgresServer::shared().await.create_database().await)
    }

    /// A fresh keyspace on the test binary's Cassandra node, migrated here once so that the
    /// nodes start within the harness's patience (they find every migration applied).
    pub async fn cassandra() -> Self {
        let node = CassandraNode::shared().await;
        let store = Self::Cassandra {
            node,
            keyspace: node.fresh_keyspace(),
        };
        drop(store.connect().await);
        store
    }

    /// The `TALLY_STORAGE__*` environment of a node on this store.
    pub fn env(&self) -> Vec<(String, String)> {
        match self {
            Self::Postgres(db) => {
                let mut env = postgres_env(db);
                // A paused node's open transaction is ended after this (and its owner-row
                // locks released), so its offices move within the tests' patience.
                env.push((
                    "TALLY_STORAGE__POSTGRES__STATEMENT_TIMEOUT".to_owned(),
                    "3s".to_owned(),
                ));
                env
            }
            Self::Cassandra { node, keyspace } => scylla_env(node, keyspace),
        }
    }

    /// The store, opened by the test as the nodes open it (on PostgreSQL as the runtime role:
    /// row-level security applies).
    pub async fn connect(&self) -> SharedStore {
        match self {
            Self::Postgres(db) => Arc::new(PostgresStore::connect(&db.config()).await.unwrap()),
            Self::Cassandra { node, keyspace } => {
                Arc::new(ScyllaStore::connect(&node.config(keyspace)).await.unwrap())
            }
        }
    }
}
