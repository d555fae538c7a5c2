//! SPEC §13: the schema is exported to docs/schema.graphql, and a stale export fails.

#[test]
fn the_exported_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.graphql");
    let sdl = kpi_ledger_graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(path, &sdl).expect("write docs/schema.graphql");
        return;
    }
    let exported = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        exported == sdl,
        "docs/schema.graphql is stale; regenerate it with \
         `UPDATE_SCHEMA=1 cargo test -p kpi-ledger-graphql --test schema`"
    );
}

#[test]
fn the_operations_named_by_the_spec_exist() {
    let sdl = kpi_ledger_graphql::sdl();
    for operation in [
        "viewer:",
        "engagements(",
        "engagement(id:",
        "openEngagement(",
        "addMember(",
        "changeMemberRole(",
        "removeMember(",
        "changeEngagementStatus(",
    ] {
        assert!(sdl.contains(operation), "missing {operation}");
    }
}
