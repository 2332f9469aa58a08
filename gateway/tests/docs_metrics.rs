//! The README documents every metric the node exports (names are defined once, in the
//! `telemetry` modules of the actors, cluster transport, cluster router and gateway crates).

#[test]
fn every_metric_is_in_the_readme() {
    let readme = include_str!("../../README.md");
    let sources = [
        include_str!("../../actors/src/telemetry.rs"),
        include_str!("../src/telemetry.rs"),
        include_str!("../src/audit/mod.rs"),
        include_str!("../../cluster/src/transport/telemetry.rs"),
        include_str!("../../cluster/src/cluster_router/telemetry.rs"),
    ];
    let names: Vec<&str> = sources
        .iter()
        .flat_map(|source| source.lines())
        .filter(|line| line.starts_with("pub const") && line.contains("\"tally_"))
        .filter_map(|line| line.split('"').nth(1))
        .collect();
    assert!(names.len() >= 10, "found only {names:?}");
    for name in names {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md's metrics table lacks {name}"
        );
    }
}

/// Every metric gets its HELP text: each `telemetry` module's `describe()` names every constant
/// of the module (a metric without HELP is what `promtool check metrics` faults).
#[test]
fn every_metric_is_described() {
    let sources = [
        include_str!("../../actors/src/telemetry.rs"),
        include_str!("../src/telemetry.rs"),
        include_str!("../src/audit/mod.rs"),
        include_str!("../../cluster/src/transport/telemetry.rs"),
        include_str!("../../cluster/src/coordination/telemetry.rs"),
    ];
    for source in sources {
        let (_, describe) = source
            .split_once("pub fn describe()")
            .expect("a telemetry module has describe()");
        let constants = source
            .lines()
            .filter(|line| line.starts_with("pub const") && line.contains("\"tally_"))
            .filter_map(|line| line.strip_prefix("pub const ")?.split(':').next());
        for constant in constants {
            assert!(
                describe.contains(&format!("({constant},"))
                    || describe.contains(&format!(" {constant},\n")),
                "{constant} has no HELP text (describe_*! in its telemetry module)"
            );
        }
    }
}
