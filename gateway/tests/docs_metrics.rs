//! The README documents every metric the node exports (names are defined once, in the
//! `telemetry` modules of the actors, cluster transport, cluster router and gateway crates).

#[test]
fn every_metric_is_in_the_readme() {
    let readme = include_str!("../../README.md");
    let sources = [
        include_str!("../../actors/src/telemetry.rs"),
        include_str!("../src/telemetry.rs"),
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
