//! `[[packages.attestation-identities]]` tables (PEP 751): `kind` plus the publisher's keys.

use toml_edit::{ArrayOfTables, Table, value};

use crate::provenance::Identity;

/// The identities as an array of tables, `kind` first, then the keys by name.
pub(super) fn to_tables(identities: &[Identity]) -> ArrayOfTables {
    let mut tables = ArrayOfTables::new();
    for identity in identities {
        let mut table = Table::new();
        table["kind"] = value(identity.kind());
        if let Ok(serde_json::Value::Object(keys)) = serde_json::to_value(identity) {
            for (key, text) in keys {
                if let (false, Some(text)) = (key == "kind", text.as_str()) {
                    table[key.as_str()] = value(text);
                }
            }
        }
        tables.push(table);
    }
    tables
}

/// One table as an identity, or what is wrong with it.
pub(super) fn from_table(table: &Table) -> Result<Identity, String> {
    let mut keys = serde_json::Map::new();
    for (key, item) in table.iter() {
        let Some(text) = item.as_str() else {
            return Err(format!("`{key}` must be a string"));
        };
        keys.insert(key.to_owned(), serde_json::Value::from(text));
    }
    let kind = keys
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or("no `kind`")?
        .to_owned();
    serde_json::from_value(serde_json::Value::Object(keys)).map_err(|e| {
        if matches!(kind.as_str(), "GitHub" | "GitLab" | "Google") {
            format!("a {kind} identity: {e}")
        } else {
            format!("kind `{kind}` cannot be verified")
        }
    })
}
