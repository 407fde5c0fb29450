//! Who can publish a project: the `ownership` of Warehouse's JSON API
//! (`/pypi/<name>/json` beside the index's `/simple/`):
//!
//! ```text
//! "ownership": { "roles": [ { "role": "Owner" | "Maintainer", "user": NAME } ],
//!                "organization": SLUG | null }
//! ```
//!
//! Owners can add and remove roles, yank and delete; Maintainers can upload. `lock --owners`
//! records the roles in each package's `[packages.tool.pinguard]`; `audit` compares them with
//! the index's and checks them against a policy.

use pep508_rs::PackageName;
use rayon::prelude::*;
use serde::Deserialize;

use crate::index::{Index, IndexError, Source, fetch_page};
use crate::lock::Lock;
use crate::locker;
use crate::safe_url::SafeUrl;

/// One account's role on a project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct Role {
    /// `Owner` or `Maintainer`, as the index writes it.
    pub role: String,
    /// The account.
    pub user: String,
}

/// Who can publish a project.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Ownership {
    /// The accounts with a role, in the index's order (owners first).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The organization that holds the project, if any.
    #[serde(default)]
    pub organization: Option<String>,
}

#[derive(Deserialize)]
struct JsonApi {
    #[serde(default)]
    ownership: Option<Ownership>,
}

/// How the accounts changed between two [`Ownership`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An account that had no role has one.
    Added(Role),
    /// An account that had a role has none.
    Removed(Role),
    /// An account's role changed.
    RoleChanged {
        /// The account.
        user: String,
        /// Its role then.
        was: String,
        /// Its role now.
        now: String,
    },
}

/// Every account added, removed or changed in role from `before` to `now`, by account name.
pub fn changes(before: &Ownership, now: &Ownership) -> Vec<Change> {
    let mut changes = Vec::new();
    for role in &now.roles {
        match before.roles.iter().find(|r| r.user == role.user) {
            None => changes.push(Change::Added(role.clone())),
            Some(was) if was.role != role.role => changes.push(Change::RoleChanged {
                user: role.user.clone(),
                was: was.role.clone(),
                now: role.role.clone(),
            }),
            Some(_) => {}
        }
    }
    for role in &before.roles {
        if now.roles.iter().all(|r| r.user != role.user) {
            changes.push(Change::Removed(role.clone()));
        }
    }
    changes.sort_by(|a, b| user_of(a).cmp(user_of(b)));
    changes
}

fn user_of(change: &Change) -> &str {
    match change {
        Change::Added(role) | Change::Removed(role) => &role.user,
        Change::RoleChanged { user, .. } => user,
    }
}

/// The JSON API URL of `name` on an index source (`<index>/../pypi/<name>/json`); `None` for
/// find-links locations, which have no JSON API.
pub fn json_api_url(source: &Source, name: &PackageName) -> Option<SafeUrl> {
    match source {
        Source::Index(url) => url.join(&format!("../pypi/{name}/json")).ok(),
        Source::FindLinks(_) => None,
    }
}

/// The ownership of `name` on source number `source`: `None` when the source has no JSON API
/// answer for it or the answer has no `ownership`.
pub fn fetch(
    index: &Index,
    source: usize,
    name: &PackageName,
) -> Result<Option<Ownership>, IndexError> {
    let Some(url) = json_api_url(&index.sources()[source], name) else {
        return Ok(None);
    };
    let Some(page) = fetch_page(index.http(), index.cache(), &url, "application/json")? else {
        return Ok(None);
    };
    let api: JsonApi = serde_json::from_slice(&page.body).map_err(|e| IndexError::Page {
        url: url.clone(),
        source: e.into(),
    })?;
    Ok(api.ownership)
}

/// [`fetch`] for every `(name, source)`, in parallel on the current rayon pool.
pub fn fetch_all(
    index: &Index,
    projects: &[(PackageName, usize)],
) -> Vec<Result<Option<Ownership>, IndexError>> {
    projects
        .par_iter()
        .map(|(name, source)| fetch(index, *source, name))
        .collect()
}

/// Records each package's ownership in `lock` (`lock --owners`), asking the source its entry
/// names, in parallel on `concurrency` threads; every package whose ownership cannot be read,
/// as messages.
pub fn record(lock: &mut Lock, index: &Index, concurrency: usize) -> Result<(), Vec<String>> {
    let projects: Vec<(PackageName, usize)> = lock
        .packages
        .iter()
        .filter_map(|p| {
            let named = p.index.as_deref()?;
            let source = index
                .sources()
                .iter()
                .position(|s| s.lock_name() == named)?;
            Some((p.name.clone(), source))
        })
        .collect();
    let results = locker::thread_pool(concurrency).install(|| fetch_all(index, &projects));
    let mut failures = Vec::new();
    for ((name, _), result) in projects.iter().zip(results) {
        match result {
            Ok(ownership) => {
                let ownership = ownership.unwrap_or_default();
                for package in lock.packages.iter_mut().filter(|p| p.name == *name) {
                    package.owners = Some(ownership.clone());
                }
            }
            Err(error) => failures.push(format!("{name}: cannot read who can publish it: {error}")),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[(&str, &str)]) -> Ownership {
        Ownership {
            roles: list
                .iter()
                .map(|(role, user)| Role {
                    role: (*role).into(),
                    user: (*user).into(),
                })
                .collect(),
            organization: None,
        }
    }

    #[test]
    fn added_removed_and_changed_accounts() {
        let before = roles(&[
            ("Owner", "openstackci"),
            ("Owner", "old"),
            ("Maintainer", "m"),
        ]);
        let now = roles(&[
            ("Owner", "openstackci"),
            ("Owner", "m"),
            ("Maintainer", "new"),
        ]);
        assert_eq!(
            changes(&before, &now),
            vec![
                Change::RoleChanged {
                    user: "m".into(),
                    was: "Maintainer".into(),
                    now: "Owner".into()
                },
                Change::Added(Role {
                    role: "Maintainer".into(),
                    user: "new".into()
                }),
                Change::Removed(Role {
                    role: "Owner".into(),
                    user: "old".into()
                }),
            ]
        );
    }

    #[test]
    fn the_json_api_is_beside_the_simple_api() {
        let source = Source::index(&SafeUrl::parse("https://pypi.org/simple").unwrap());
        let name = PackageName::new("oslo.config".into()).unwrap();
        assert_eq!(
            json_api_url(&source, &name).unwrap().to_string(),
            "https://pypi.org/pypi/oslo-config/json"
        );
    }
}
