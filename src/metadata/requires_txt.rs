//! setuptools' `*.egg-info/requires.txt`: the dependencies of an sdist whose `PKG-INFO` does
//! not list them (metadata before 2.1, or setuptools before it wrote `Requires-Dist` there).
//!
//! The format is `pkg_resources.split_sections`, read as `importlib.metadata` reads it into
//! `Requires-Dist` form:
//!
//! ```text
//! file     = *( requirement-line / section-line / blank / "#" comment )
//! section  = "[" [ extra ] [ ":" marker ] "]"
//! ```
//!
//! Lines before the first section are unconditional. A section's requirements get the marker
//! `extra == "<extra>"` when it names an extra, and the section's marker (ANDed) when it has
//! one: `[test:sys_platform == "win32"]` followed by `pytest` is
//! `pytest ; sys_platform == "win32" and extra == "test"`.

use std::str::FromStr;

use pep508_rs::{ExtraName, MarkerTree, VerbatimUrl};

use crate::marker::Dependency;

/// What a `requires.txt` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiresTxt {
    /// Every requirement that parses, with its section as a marker, in file order.
    pub requires_dist: Vec<Dependency>,
    /// The extras the sections name, normalized, in order of first appearance.
    pub provides_extra: Vec<ExtraName>,
    /// Lines that do not parse (or whose section does not): `(line, error)`. Not fatal, as
    /// for [`CoreMetadata`](super::CoreMetadata).
    pub invalid_requires_dist: Vec<(String, String)>,
}

/// The condition a section puts on its requirements, or why it has none.
type SectionCondition = Result<(Option<ExtraName>, MarkerTree), String>;

/// Parses the text of a `requires.txt`.
pub fn parse(text: &str) -> RequiresTxt {
    let mut out = RequiresTxt::default();
    let mut condition: SectionCondition = Ok((None, MarkerTree::TRUE));
    let mut section_text = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                condition = Err(format!("invalid section heading `{line}`"));
                out.invalid_requires_dist.push((
                    line.to_owned(),
                    "a section heading must end with `]`".into(),
                ));
                continue;
            };
            section_text = inner.trim().to_owned();
            condition = section(&section_text);
            if let Ok((Some(extra), _)) = &condition
                && !out.provides_extra.contains(extra)
            {
                out.provides_extra.push(extra.clone());
            }
            continue;
        }
        // The section's marker was validated when the section began; it is added as text.
        let (extra, _) = match &condition {
            Ok(condition) => condition,
            Err(error) => {
                out.invalid_requires_dist
                    .push((line.to_owned(), error.clone()));
                continue;
            }
        };
        match crate::pep508::requirement::<VerbatimUrl>(line)
            .and_then(|_| Dependency::from_str(&with_section(line, &section_text, extra.as_ref())))
        {
            Ok(dependency) => out.requires_dist.push(dependency),
            Err(e) => {
                let context = if section_text.is_empty() {
                    String::new()
                } else {
                    format!(" (in section [{section_text}])")
                };
                out.invalid_requires_dist
                    .push((line.to_owned(), format!("{}{context}", e.message)));
            }
        }
    }
    out
}

/// The line with its section's condition added to its marker, as text (so that the marker is
/// later evaluated as written, see [`crate::marker`]).
fn with_section(line: &str, section: &str, extra: Option<&ExtraName>) -> String {
    let (requirement, own_marker) = match line.split_once(';') {
        Some((requirement, marker)) => (requirement.trim(), Some(marker.trim())),
        None => (line, None),
    };
    let section_marker = section
        .split_once(':')
        .map(|(_, m)| m.trim())
        .filter(|m| !m.is_empty());
    let mut parts: Vec<String> = own_marker
        .into_iter()
        .chain(section_marker)
        .map(|m| format!("({m})"))
        .collect();
    if let Some(extra) = extra {
        parts.push(format!("extra == \"{extra}\""));
    }
    if parts.is_empty() {
        requirement.to_owned()
    } else {
        format!("{requirement} ; {}", parts.join(" and "))
    }
}

/// `extra`, `:marker` or `extra:marker`.
fn section(text: &str) -> SectionCondition {
    let (extra, marker) = text.split_once(':').unwrap_or((text, ""));
    let (extra, marker) = (extra.trim(), marker.trim());
    let extra = if extra.is_empty() {
        None
    } else {
        Some(
            ExtraName::from_str(extra)
                .map_err(|e| format!("section [{text}] names an invalid extra: {e}"))?,
        )
    };
    let marker = if marker.is_empty() {
        MarkerTree::TRUE
    } else {
        crate::pep508::marker(marker)
            .map_err(|e| format!("section [{text}] has an invalid marker: {}", e.message))?
    };
    Ok((extra, marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(requires: &RequiresTxt) -> Vec<String> {
        requires
            .requires_dist
            .iter()
            .map(|d| d.requirement.to_string())
            .collect()
    }

    #[test]
    fn sections_become_markers() {
        let requires = parse(include_str!(
            "../../tests/fixtures/metadata/oslo.sample.requires.txt"
        ));
        assert_eq!(
            strings(&requires),
            [
                "pbr>=2.0.0",
                "requests>=2.14.2",
                "importlib-metadata>=1.7.0 ; python_full_version < '3.8'",
                "pyyaml>=5.1 ; extra == 'yaml'",
                "pywin32>=300 ; sys_platform == 'win32' and extra == 'windows'",
                "colorama ; sys_platform == 'win32' and extra == 'windows'",
                "pytest ; extra == 'test'",
                "stestr>=2.0 ; python_full_version >= '3.9' and extra == 'test'",
            ]
        );
        assert_eq!(
            requires
                .provides_extra
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["yaml", "windows", "test"]
        );
        assert!(requires.invalid_requires_dist.is_empty());
    }

    #[test]
    fn bad_lines_and_sections_are_collected() {
        let requires = parse(
            "good\nbad ==\n[:python_version >>> '3']\nunder-bad-section\n\
             [ok]\nfine\n[broken\nafter-broken\n",
        );
        assert_eq!(strings(&requires), ["good", "fine ; extra == 'ok'"]);
        let lines: Vec<&str> = requires
            .invalid_requires_dist
            .iter()
            .map(|(line, _)| line.as_str())
            .collect();
        assert_eq!(
            lines,
            ["bad ==", "under-bad-section", "[broken", "after-broken"]
        );
        assert!(
            requires.invalid_requires_dist[1]
                .1
                .starts_with("section [:python_version >>> '3'] has an invalid marker"),
            "{:?}",
            requires.invalid_requires_dist[1]
        );
    }

    #[test]
    fn an_empty_file_has_no_requirements() {
        assert_eq!(parse(""), RequiresTxt::default());
        assert_eq!(parse("\n# only a comment\n\n"), RequiresTxt::default());
    }
}
