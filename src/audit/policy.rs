//! `audit --policy FILE`: the accounts allowed to hold a role on the locked packages.
//!
//! ```toml
//! # Every group names packages (normalized or as written; "*" is every locked package) and
//! # the accounts allowed on them. A package's allowed accounts are those of every group it
//! # is in; a package in no group is not checked.
//! [[group]]
//! name = "OpenStack deliverables"   # shown in findings
//! deliverables = true               # every package --releases names a deliverable
//! accounts = ["openstackci"]
//!
//! [[group]]
//! name = "ours"
//! packages = ["oslo.config", "pbr"] # or ["*"]
//! accounts = ["openstackci", "release-bot"]
//! ```
//!
//! A group names `packages`, or sets `deliverables = true` (with `audit --releases`), or both.
//!
//! Unknown keys and wrong types are errors naming the file, line and key.

use std::collections::BTreeSet;
use std::str::FromStr;

use pep508_rs::PackageName;
use toml_edit::{Document, Item, Table};

use crate::diagnostic::{Diagnostic, Diagnostics};

/// A group of packages and the accounts allowed on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its name, for findings.
    pub name: String,
    /// The packages; `None` is every package (`"*"`).
    pub packages: Option<BTreeSet<PackageName>>,
    /// Whether every OpenStack deliverable is in the group (`deliverables = true`).
    pub deliverables: bool,
    /// The accounts allowed.
    pub accounts: BTreeSet<String>,
}

/// The policy file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// The groups, in file order.
    pub groups: Vec<Group>,
}

impl Policy {
    /// The groups `package` is in; `deliverable` says whether the release records name it.
    pub fn groups_of<'a>(
        &'a self,
        package: &'a PackageName,
        deliverable: bool,
    ) -> impl Iterator<Item = &'a Group> {
        self.groups.iter().filter(move |g| {
            (g.deliverables && deliverable)
                || g.packages.as_ref().is_none_or(|p| p.contains(package))
        })
    }

    /// Whether a group is about deliverables, which needs `--releases`.
    pub fn needs_releases(&self) -> bool {
        self.groups.iter().any(|g| g.deliverables)
    }
}

const HELP: &str = "a policy is `[[group]]` tables with `name`, `packages` (names, or \"*\") \
                    or `deliverables = true`, and `accounts`";

/// Parses the policy `text` read from `file`; every problem at once.
pub fn parse(file: &str, text: &str) -> Result<Policy, Diagnostics> {
    let mut problems = Vec::new();
    let mut problem = |span: Option<std::ops::Range<usize>>, message: String| {
        problems.push(Diagnostic::in_source(
            file,
            text,
            span.unwrap_or(0..0),
            message,
            "here",
            Some(HELP.to_owned()),
        ));
    };
    // `Document` keeps the spans (`DocumentMut` drops them).
    let document = match Document::parse(text) {
        Ok(document) => document,
        Err(e) => {
            problem(e.span(), format!("not TOML: {}", e.message()));
            return Err(Diagnostics(problems));
        }
    };
    let mut policy = Policy::default();
    for (key, item) in document.as_table().iter() {
        if key != "group" {
            let span = document.as_table().key(key).and_then(|k| k.span());
            problem(span, format!("unknown key `{key}`"));
            continue;
        }
        let Some(groups) = item.as_array_of_tables() else {
            problem(
                item.span(),
                "`group` must be an array of tables (`[[group]]`)".into(),
            );
            continue;
        };
        for table in groups {
            if let Some(group) = group(table, &mut problem) {
                policy.groups.push(group);
            }
        }
    }
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(Diagnostics(problems))
    }
}

fn group(
    table: &Table,
    problem: &mut impl FnMut(Option<std::ops::Range<usize>>, String),
) -> Option<Group> {
    for (key, _) in table.iter() {
        if !["name", "packages", "deliverables", "accounts"].contains(&key) {
            problem(
                table.key(key).and_then(|k| k.span()),
                format!("unknown key `{key}` in a group"),
            );
        }
    }
    let name = match table.get("name").map(|i| (i.as_str(), i.span())) {
        Some((Some(name), _)) => name.to_owned(),
        Some((None, span)) => {
            problem(span, "`name` must be a string".into());
            return None;
        }
        None => {
            problem(table.span(), "a group needs a `name`".into());
            return None;
        }
    };
    let deliverables = match table.get("deliverables") {
        None => false,
        Some(item) => item.as_bool().unwrap_or_else(|| {
            problem(
                item.span(),
                format!("group `{name}`: `deliverables` must be true or false"),
            );
            false
        }),
    };
    let packages = match table.get("packages") {
        None if deliverables => Vec::new(),
        _ => strings(table, "packages", &name, problem)?,
    };
    let accounts = strings(table, "accounts", &name, problem)?;
    let packages = if packages.iter().any(|p| p == "*") {
        None
    } else {
        let mut names = BTreeSet::new();
        for package in &packages {
            match PackageName::from_str(package) {
                Ok(normalized) => {
                    names.insert(normalized);
                }
                Err(e) => problem(
                    table.get("packages").and_then(Item::span),
                    format!("group `{name}`: `{package}` is not a package name: {e}"),
                ),
            }
        }
        Some(names)
    };
    Some(Group {
        name,
        packages,
        deliverables,
        accounts: accounts.into_iter().collect(),
    })
}

fn strings(
    table: &Table,
    key: &str,
    group: &str,
    problem: &mut impl FnMut(Option<std::ops::Range<usize>>, String),
) -> Option<Vec<String>> {
    let Some(item) = table.get(key) else {
        problem(table.span(), format!("group `{group}` needs `{key}`"));
        return None;
    };
    let values: Option<Vec<String>> = item
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect());
    if values.is_none() {
        problem(
            item.span(),
            format!("group `{group}`: `{key}` must be an array of strings"),
        );
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_name_packages_and_accounts() {
        let policy = parse(
            "p.toml",
            "[[group]]\nname = \"os\"\npackages = [\"oslo.config\"]\naccounts = [\"openstackci\"]\n\
             [[group]]\nname = \"all\"\npackages = [\"*\"]\naccounts = [\"admin\"]\n",
        )
        .unwrap();
        let name = PackageName::from_str("oslo-config").unwrap();
        let groups: Vec<&str> = policy
            .groups_of(&name, false)
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(groups, ["os", "all"]);
        let other = PackageName::from_str("six").unwrap();
        assert_eq!(policy.groups_of(&other, false).count(), 1);
    }

    #[test]
    fn a_deliverables_group_holds_the_deliverables_only() {
        let policy = parse(
            "p.toml",
            "[[group]]\nname = \"os\"\ndeliverables = true\naccounts = [\"openstackci\"]\n",
        )
        .unwrap();
        let name = PackageName::from_str("oslo-config").unwrap();
        assert_eq!(policy.groups_of(&name, true).count(), 1);
        assert_eq!(policy.groups_of(&name, false).count(), 0);
        assert!(policy.needs_releases());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = parse(
            "p.toml",
            "[[group]]\nname = \"os\"\npackages = [\"*\"]\naccount = [\"x\"]\n",
        )
        .unwrap_err();
        let lines: Vec<(usize, &str)> =
            err.0.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            lines,
            [
                (4, "unknown key `account` in a group"),
                (1, "group `os` needs `accounts`")
            ]
        );
    }
}
