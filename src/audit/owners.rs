//! Findings about who can publish a locked package: accounts added, removed or changed in
//! role since `lock --owners` recorded them, and accounts a policy does not allow.

use super::policy::Policy;
use super::{Finding, Kind};
use crate::lock::Package;
use crate::owners::{Change, Ownership, changes};

/// The findings for `package`, whose ownership on the index is `now`.
/// `deliverable` says whether the release records (`--releases`) name it.
pub fn findings(
    package: &Package,
    now: &Ownership,
    policy: Option<&Policy>,
    deliverable: bool,
) -> Vec<Finding> {
    let finding = |kind, user: &str, message: String| Finding {
        kind,
        package: package.name.clone(),
        version: package.version.clone(),
        subject: user.to_owned(),
        message,
        when: None,
    };
    let mut found = Vec::new();
    if let Some(recorded) = &package.owners {
        for change in changes(recorded, now) {
            found.push(match change {
                Change::Added(role) => finding(
                    Kind::OwnerAdded,
                    &role.user,
                    format!("became {} since the lock", article(&role.role)),
                ),
                Change::Removed(role) => finding(
                    Kind::OwnerRemoved,
                    &role.user,
                    format!(
                        "was {} at the lock and has no role now",
                        article(&role.role)
                    ),
                ),
                Change::RoleChanged { user, was, now } => finding(
                    Kind::RoleChanged,
                    &user,
                    format!(
                        "was {} at the lock, is {} now",
                        article(&was),
                        article(&now)
                    ),
                ),
            });
        }
    }
    let Some(policy) = policy else {
        return found;
    };
    let groups: Vec<_> = policy.groups_of(&package.name, deliverable).collect();
    if groups.is_empty() {
        return found;
    }
    for role in &now.roles {
        if groups.iter().all(|g| !g.accounts.contains(&role.user)) {
            let names: Vec<String> = groups.iter().map(|g| format!("`{}`", g.name)).collect();
            found.push(finding(
                Kind::NotInPolicy,
                &role.user,
                format!(
                    "is {}, and the policy ({}) does not allow the account",
                    article(&role.role),
                    names.join(", ")
                ),
            ));
        }
    }
    found
}

/// `an Owner`, `a Maintainer`.
fn article(role: &str) -> String {
    let vowel = role
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {role}", if vowel { "an" } else { "a" })
}
