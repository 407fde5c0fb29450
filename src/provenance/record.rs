//! `lock --attestations`: which identities one package's files allow recording (PEP 751
//! `[[packages.attestation-identities]]`), decided from the outcome of each of its files.

use std::collections::BTreeMap;

use super::Identity;
use super::check::Outcome;

/// What a package's files allow recording.
#[derive(Debug)]
pub enum Decision<'a> {
    /// Every file is attested: the identities, each with the files it published (more than
    /// one entry when the files disagree; all are recorded).
    Identities(BTreeMap<Identity, Vec<&'a str>>),
    /// No file is attested.
    Unattested,
    /// Some files are attested and some not: nothing is recorded.
    Mixed {
        /// The identities of the attested files.
        attested: Vec<Identity>,
        /// The files without attestation.
        unattested: Vec<&'a str>,
    },
    /// Attestations that did not verify or could not be fetched: the lock is not written.
    Broken(Vec<(&'a str, &'a Outcome)>),
}

/// Decides from `(file name, outcome)` pairs, one per file of the package.
pub fn decide<'a>(files: &[(&'a str, &'a Outcome)]) -> Decision<'a> {
    let mut identities: BTreeMap<Identity, Vec<&str>> = BTreeMap::new();
    let mut unattested = Vec::new();
    let mut broken = Vec::new();
    for &(name, outcome) in files {
        match outcome {
            Outcome::Verified { verified, .. } => identities
                .entry(verified.identity.clone())
                .or_default()
                .push(name),
            Outcome::NoAttestation => unattested.push(name),
            Outcome::Failed { .. } | Outcome::Unreachable(_) => broken.push((name, outcome)),
        }
    }
    if !broken.is_empty() {
        Decision::Broken(broken)
    } else if identities.is_empty() {
        Decision::Unattested
    } else if !unattested.is_empty() {
        Decision::Mixed {
            attested: identities.into_keys().collect(),
            unattested,
        }
    } else {
        Decision::Identities(identities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::provenance::check::verified_by as by;

    #[test]
    fn files_that_disagree_record_every_identity_and_mixed_files_record_none() {
        let (a, b, none) = (by("a@x"), by("b@x"), Outcome::NoAttestation);
        let Decision::Identities(both) = decide(&[("w1", &a), ("w2", &b), ("w3", &a)]) else {
            panic!("identities expected");
        };
        let files: Vec<Vec<&str>> = both.into_values().collect();
        assert_eq!(files, [vec!["w1", "w3"], vec!["w2"]]);
        let Decision::Mixed { unattested, .. } = decide(&[("w1", &a), ("s", &none)]) else {
            panic!("mixed expected");
        };
        assert_eq!(unattested, ["s"]);
        assert!(matches!(decide(&[("s", &none)]), Decision::Unattested));
    }
}
