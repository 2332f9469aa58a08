//! Where tally keeps its cluster state in Redis. With prefix `P`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:members` | set | ids of the registered members |
//! | `P:member:{id}` | hash | id, region, cluster_addr, http_addr, state, protocol_version |
//! | `P:alive:{id}` | string with TTL | present while the member heartbeats |
//! | `P:epoch` | counter | raised by every membership change |
//! | `P:membership` | pub/sub channel | the new epoch, after every change |
//! | `P:lease:{tenant}:{office}` | string with TTL | the holder of the office's lease |
//!
//! Ids are slugs (a-z, 0-9, '-'), so the ':' separators cannot be ambiguous.

/// The key names of one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    /// The prefix itself (the membership scripts build member keys from it).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn members(&self) -> String {
        format!("{}:members", self.prefix)
    }

    pub(crate) fn member(&self, id: &str) -> String {
        format!("{}:member:{id}", self.prefix)
    }

    pub(crate) fn alive(&self, id: &str) -> String {
        format!("{}:alive:{id}", self.prefix)
    }

    pub(crate) fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }

    pub(crate) fn channel(&self) -> String {
        format!("{}:membership", self.prefix)
    }

    pub(crate) fn lease(&self, tenant: &str, office: &str) -> String {
        format!("{}:lease:{tenant}:{office}", self.prefix)
    }
}
