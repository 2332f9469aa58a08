//! Office calendars: set, replaced, per tenant, refused without the office, erased with the
//! tenant.

use super::support::{add_office, add_tenant, assert_not_found, office_id, unique};
use crate::{OfficeCalendar, Store};

/// A calendar reads back as set, a second set replaces it, another tenant's office of the same
/// id has none, a missing office is refused, and erasure of the tenant removes it.
pub async fn office_calendars(store: &dyn Store) {
    let tenant = add_tenant(store, &unique("t")).await;
    let other = add_tenant(store, &unique("t")).await;
    let office_name = unique("o");
    let office = add_office(store, &tenant, &office_name).await;
    add_office(store, &other, &office_name).await;
    assert_eq!(store.office_calendar(&tenant, &office).await.unwrap(), None);

    let berlin = OfficeCalendar {
        time_zone: "Europe/Berlin".into(),
        work_days: vec![0, 1, 2, 3, 4],
        work_start: "08:00".into(),
        work_end: "18:00".into(),
    };
    store
        .set_office_calendar(&tenant, &office, &berlin)
        .await
        .unwrap();
    assert_eq!(
        store.office_calendar(&tenant, &office).await.unwrap(),
        Some(berlin.clone())
    );
    let new_york = OfficeCalendar {
        time_zone: "America/New_York".into(),
        work_days: vec![6],
        ..berlin
    };
    store
        .set_office_calendar(&tenant, &office, &new_york)
        .await
        .unwrap();
    assert_eq!(
        store.office_calendar(&tenant, &office).await.unwrap(),
        Some(new_york.clone())
    );
    assert_eq!(store.office_calendar(&other, &office).await.unwrap(), None);

    let missing = office_id(&unique("o"));
    assert_not_found(
        store
            .set_office_calendar(&tenant, &missing, &new_york)
            .await,
        "office",
    );

    let report = store.erase_tenant(&tenant, "ops", 1).await.unwrap();
    assert_eq!(report.finished_at, Some(1), "erasure left rows: {report:?}");
    assert_eq!(store.office_calendar(&tenant, &office).await.unwrap(), None);
}
