//! Token revocations: the mark only rises, ids are kept until they expire, per tenant, refused
//! without the tenant, erased with it.

use super::support::{add_tenant, assert_not_found, tenant_id, unique};
use crate::{Store, StoreError, TokenRevocations};

/// The mark reads back and never falls; revoked ids read back until `now` passes their expiry
/// (expiries are in the future: a store may forget expired ids when it likes); another tenant
/// sees none of it; a missing tenant is refused; erasure removes everything and refuses later
/// revocations.
pub async fn token_revocations(store: &dyn Store) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tenant = add_tenant(store, &unique("t")).await;
    let other = add_tenant(store, &unique("t")).await;
    assert_eq!(
        store.token_revocations(&tenant, 1_000).await.unwrap(),
        TokenRevocations::default()
    );

    assert_eq!(
        store
            .revoke_tokens_issued_before(&tenant, 2_000)
            .await
            .unwrap(),
        2_000
    );
    assert_eq!(
        store
            .revoke_tokens_issued_before(&tenant, 1_500)
            .await
            .unwrap(),
        2_000,
        "an earlier mark must not lower the one in force"
    );
    store
        .revoke_token(&tenant, "jti-a", now + 600)
        .await
        .unwrap();
    store
        .revoke_token(&tenant, "jti-b", now + 300)
        .await
        .unwrap();

    let read = store.token_revocations(&tenant, now).await.unwrap();
    assert_eq!(read.issued_before, Some(2_000));
    assert_eq!(
        read.token_ids
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["jti-a", "jti-b"]
    );
    let later = store.token_revocations(&tenant, now + 300).await.unwrap();
    assert_eq!(
        later
            .token_ids
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["jti-a"],
        "an id whose token has expired no longer counts"
    );
    assert_eq!(
        store.token_revocations(&other, now).await.unwrap(),
        TokenRevocations::default()
    );

    let missing = tenant_id(&unique("t"));
    assert_not_found(
        store
            .revoke_tokens_issued_before(&missing, 1)
            .await
            .map(drop),
        "tenant",
    );
    assert_not_found(store.revoke_token(&missing, "x", now + 60).await, "tenant");

    let report = store.erase_tenant(&tenant, "ops", 1).await.unwrap();
    assert_eq!(report.finished_at, Some(1), "erasure left rows: {report:?}");
    assert_eq!(
        store.token_revocations(&tenant, 0).await.unwrap(),
        TokenRevocations::default()
    );
    assert!(matches!(
        store.revoke_token(&tenant, "jti-c", now + 60).await,
        Err(StoreError::Erased(_))
    ));
}
