//! How `tally ctl` prints: aligned plain-text tables for people (comfy-table, no borders, no
//! colours, so they pipe and diff well), or with `--json` the API's JSON as one document.

use comfy_table::{ColumnConstraint, Table, presets};
use serde_json::Value;

/// Table or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Aligned columns under a header.
    Table,
    /// One JSON document (pretty-printed).
    Json,
}

/// A table with `header`, columns separated by two spaces, no borders.
pub(crate) fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_header(header);
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
        column.set_constraint(ColumnConstraint::ContentWidth);
    }
    table
}

/// Prints `table`, each line without trailing blanks.
pub(crate) fn print_table(table: &Table) {
    for line in table.lines() {
        println!("{}", line.trim_end());
    }
}

/// Prints `document` as pretty JSON.
pub(crate) fn print_json(document: &Value) {
    // A `Value` always serializes.
    println!(
        "{}",
        serde_json::to_string_pretty(document).unwrap_or_default()
    );
}

/// Prints `document` as JSON, or as the table `render` makes of it.
///
/// # Errors
/// Whatever `render` finds missing or malformed in the document.
pub(crate) fn print(
    format: Format,
    document: &Value,
    render: impl FnOnce(&Value) -> anyhow::Result<Table>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(document),
        Format::Table => print_table(&render(document)?),
    }
    Ok(())
}

/// Field `name` of `object` as text: strings unquoted, numbers and booleans as written,
/// absent or `null` as `-`.
pub(crate) fn text(object: &Value, name: &str) -> String {
    match object.get(name) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `document` as an array.
///
/// # Errors
/// If it is not one, naming `what` it should list.
pub(crate) fn rows<'a>(document: &'a Value, what: &str) -> anyhow::Result<&'a Vec<Value>> {
    document
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("expected a list of {what}, got {document}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_without_borders() {
        let mut table = table(["TENANT", "NAME"]);
        table.add_row(["acme", "Acme Corp"]);
        table.add_row(["a-much-longer-id", "B"]);
        let lines: Vec<String> = table.lines().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(
            lines,
            [
                "TENANT            NAME",
                "acme              Acme Corp",
                "a-much-longer-id  B",
            ]
        );
    }
}
