//! The core metadata file (`METADATA` in wheels, `PKG-INFO` in sdists), as far as dependencies
//! go: <https://packaging.python.org/en/latest/specifications/core-metadata/>.
//!
//! The format is email headers, and the specification defers to what Python's
//! `email.parser` (policy `compat32`) reads, so this parser follows its rules:
//!
//! ```text
//! file      = [ "From " line ] *( field / continuation ) [ blank-line body ]
//! field     = name ":" value newline        ; name: printable ASCII but ":" (case-insensitive)
//! continuation = ( " " / "\t" ) text newline ; folded onto the previous field
//! ```
//!
//! The header ends at the first blank line, or at the first line that is neither a field nor a
//! continuation (that line starts the body, as in Python). The body is the description and is
//! ignored. Line ends may be `\n` or `\r\n`; bytes that are not UTF-8 are decoded lossily.
//! Fields may repeat (`Requires-Dist`, `Provides-Extra`, `Dynamic`); of a single-use field
//! repeated, the first wins, as `Message.get` gives it.
//!
//! Metadata 2.2 added `Dynamic` (PEP 643): an sdist's `PKG-INFO` fields not listed there are
//! what any wheel built from it will say, so [`CoreMetadata::dependencies_are_static`] tells
//! whether `Requires-Dist` can be used without building.

use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName};

use crate::marker::Dependency;

use super::MetadataError;

/// The fields of a core metadata file that say what a distribution depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreMetadata {
    /// `Metadata-Version`, as written (`2.1`).
    pub metadata_version: String,
    /// `Name`, normalized.
    pub name: PackageName,
    /// `Version`.
    pub version: Version,
    /// Every `Requires-Dist` that parses as a PEP 508 requirement, in order, with its text.
    pub requires_dist: Vec<Dependency>,
    /// The `Requires-Dist` values that do not parse: `(value, error)`. Not fatal, so that the
    /// caller can report them beside the rest.
    pub invalid_requires_dist: Vec<(String, String)>,
    /// `Requires-Python`, when present and valid.
    pub requires_python: Option<VersionSpecifiers>,
    /// A `Requires-Python` that does not parse: `(value, error)`. pip ignores such a value
    /// with a warning; so does this parser, leaving the report to the caller.
    pub invalid_requires_python: Option<(String, String)>,
    /// Every valid `Provides-Extra`, normalized.
    pub provides_extra: Vec<ExtraName>,
    /// The `Provides-Extra` values that are not valid extra names: `(value, error)`.
    pub invalid_provides_extra: Vec<(String, String)>,
    /// `Dynamic` (metadata 2.2+): the fields a build may change, as written.
    pub dynamic: Vec<String>,
}

impl CoreMetadata {
    /// Parses a `METADATA` or `PKG-INFO` file.
    ///
    /// Fails only when `Metadata-Version`, `Name` or `Version` is missing or invalid; a bad
    /// `Requires-Dist`, `Requires-Python` or `Provides-Extra` is collected in the `invalid_*`
    /// fields instead.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let text = String::from_utf8_lossy(bytes);
        let fields = header_fields(&text);
        let first = |field: &'static str| -> Result<&str, MetadataError> {
            fields
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(field))
                .map(|(_, value)| value.as_str())
                .ok_or(MetadataError::MissingField { field })
        };
        let all = |field: &'static str| {
            fields
                .iter()
                .filter(move |(name, _)| name.eq_ignore_ascii_case(field))
                .map(|(_, value)| value.as_str())
        };
        let invalid =
            |field: &'static str, value: &str, reason: String| MetadataError::InvalidField {
                field,
                value: value.to_owned(),
                reason,
            };

        let metadata_version = first("Metadata-Version")?.to_owned();
        let name_value = first("Name")?;
        let name = PackageName::from_str(name_value)
            .map_err(|e| invalid("Name", name_value, e.to_string()))?;
        let version_value = first("Version")?;
        let version = Version::from_str(version_value)
            .map_err(|e| invalid("Version", version_value, e.to_string()))?;

        let mut requires_dist = Vec::new();
        let mut invalid_requires_dist = Vec::new();
        for value in all("Requires-Dist") {
            match Dependency::from_str(value) {
                Ok(dependency) => requires_dist.push(dependency),
                Err(e) => invalid_requires_dist.push((value.to_owned(), e.message.to_string())),
            }
        }

        let mut requires_python = None;
        let mut invalid_requires_python = None;
        if let Ok(value) = first("Requires-Python") {
            match VersionSpecifiers::from_str(value) {
                Ok(specifiers) => requires_python = Some(specifiers),
                Err(e) => invalid_requires_python = Some((value.to_owned(), e.to_string())),
            }
        }

        let mut provides_extra = Vec::new();
        let mut invalid_provides_extra = Vec::new();
        for value in all("Provides-Extra") {
            match ExtraName::from_str(value) {
                Ok(extra) if !provides_extra.contains(&extra) => provides_extra.push(extra),
                Ok(_) => {}
                Err(e) => invalid_provides_extra.push((value.to_owned(), e.to_string())),
            }
        }

        Ok(Self {
            metadata_version,
            name,
            version,
            requires_dist,
            invalid_requires_dist,
            requires_python,
            invalid_requires_python,
            provides_extra,
            invalid_provides_extra,
            dynamic: all("Dynamic").map(str::to_owned).collect(),
        })
    }

    /// Whether `Requires-Dist` is final, so that a wheel built from this metadata's sdist
    /// would list the same dependencies (PEP 643): `Metadata-Version` is 2.2 or later and
    /// `Dynamic` does not name `Requires-Dist`.
    ///
    /// A wheel's metadata is always final; this matters for an sdist's `PKG-INFO`, which
    /// before 2.2 guaranteed nothing.
    pub fn dependencies_are_static(&self) -> bool {
        let Ok(version) = Version::from_str(self.metadata_version.trim()) else {
            return false;
        };
        version >= Version::new([2, 2])
            && !self
                .dynamic
                .iter()
                .any(|field| field.trim().eq_ignore_ascii_case("Requires-Dist"))
    }
}

/// The header fields of an email-format file, in order, with continuation lines unfolded
/// (the line break removed, the continuation's leading whitespace kept, RFC 5322 §2.2.3).
fn header_fields(text: &str) -> Vec<(&str, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut fields: Vec<(&str, String)> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation before any field has nothing to continue; Python drops it too.
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
            continue;
        }
        if index == 0 && line.starts_with("From ") {
            // An mbox "From " line, which Python's parser takes as the envelope.
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if is_field_name(name) => {
                fields.push((name, value.trim_start_matches([' ', '\t']).to_owned()));
            }
            // Neither a field nor a continuation: Python's parser starts the body here.
            _ => break,
        }
    }
    for (_, value) in &mut fields {
        let trimmed = value.trim_end().len();
        value.truncate(trimmed);
    }
    fields
}

/// Printable ASCII but `:` and space, as Python's `email.feedparser` accepts.
fn is_field_name(name: &str) -> bool {
    name.bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CoreMetadata {
        CoreMetadata::parse(text.as_bytes()).unwrap()
    }

    fn requirements(metadata: &CoreMetadata) -> Vec<String> {
        metadata
            .requires_dist
            .iter()
            .map(|d| d.requirement.to_string())
            .collect()
    }

    #[test]
    fn wheel_metadata_with_extras_markers_and_a_body() {
        let metadata = CoreMetadata::parse(include_bytes!(
            "../../tests/fixtures/metadata/requests-2.32.3.METADATA"
        ))
        .unwrap();
        assert_eq!(metadata.metadata_version, "2.1");
        assert_eq!(metadata.name.as_ref(), "requests");
        assert_eq!(metadata.version.to_string(), "2.32.3");
        assert_eq!(
            requirements(&metadata),
            [
                "charset-normalizer>=2,<4",
                "idna>=2.5,<4",
                "urllib3>=1.21.1,<3",
                "certifi>=2017.4.17",
                "pysocks>=1.5.6,!=1.5.7 ; extra == 'socks'",
                "chardet>=3.0.2,<6 ; extra == 'use-chardet-on-py3'",
            ]
        );
        assert_eq!(
            metadata.requires_python.as_ref().unwrap().to_string(),
            ">=3.8"
        );
        assert_eq!(
            metadata
                .provides_extra
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["security", "socks", "use-chardet-on-py3"]
        );
        // The description (body) holds a line that looks like a field: it is not one.
        assert!(metadata.invalid_requires_dist.is_empty());
        assert!(!metadata.dependencies_are_static());
    }

    #[test]
    fn continuations_are_unfolded_and_crlf_tolerated() {
        let metadata = parse(
            "Metadata-Version: 2.1\r\nName: Foo.Bar\r\nVersion: 1.0\r\n\
             Requires-Dist: baz>=1;\r\n  python_version < \"3.11\"\r\n\
             Description: first line\r\n        |second line\r\n\
             Requires-Dist: qux\r\n\r\nRequires-Dist: not-a-field\r\n",
        );
        assert_eq!(metadata.name.as_ref(), "foo-bar");
        assert_eq!(
            requirements(&metadata),
            ["baz>=1 ; python_full_version < '3.11'", "qux"]
        );
    }

    #[test]
    fn field_names_are_case_insensitive_and_the_first_single_field_wins() {
        let metadata = parse(
            "metadata-version: 2.3\nNAME: foo\nVersion: 2.0\nVersion: 3.0\n\
             requires-dist: bar\nrequires-python: >=3.9\nRequires-Python: >=3.12\n",
        );
        assert_eq!(metadata.version.to_string(), "2.0");
        assert_eq!(requirements(&metadata), ["bar"]);
        assert_eq!(
            metadata.requires_python.as_ref().unwrap().to_string(),
            ">=3.9"
        );
        assert!(metadata.dependencies_are_static());
    }

    #[test]
    fn the_header_ends_at_a_line_that_is_not_a_field() {
        let metadata = parse(
            "From nobody\nMetadata-Version: 2.1\nName: foo\nVersion: 1\n\
             Requires-Dist: a\nthis is the body\nRequires-Dist: b\n",
        );
        assert_eq!(requirements(&metadata), ["a"]);
        // A leading continuation has nothing to continue.
        let metadata = parse("  stray\nMetadata-Version: 2.1\nName: foo\nVersion: 1\n");
        assert_eq!(metadata.name.as_ref(), "foo");
    }

    #[test]
    fn bad_values_are_collected_not_fatal() {
        let metadata = parse(
            "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\
             Requires-Dist: good (>=1.0)\nRequires-Dist: bad ==\n\
             Requires-Dist: other; python_version >> '3'\n\
             Requires-Python: >=3.6.*\nProvides-Extra: ok_Extra\nProvides-Extra: not ok!\n",
        );
        assert_eq!(requirements(&metadata), ["good>=1.0"]);
        let bad: Vec<&str> = metadata
            .invalid_requires_dist
            .iter()
            .map(|(value, _)| value.as_str())
            .collect();
        assert_eq!(bad, ["bad ==", "other; python_version >> '3'"]);
        // The reason alone, on one line: the value is kept beside it.
        assert_eq!(
            metadata.invalid_requires_dist[0].1,
            "Unexpected end of version specifier, expected version"
        );
        assert_eq!(metadata.requires_python, None);
        assert_eq!(metadata.invalid_requires_python.unwrap().0, ">=3.6.*");
        assert_eq!(metadata.provides_extra[0].as_ref(), "ok-extra");
        assert_eq!(metadata.invalid_provides_extra[0].0, "not ok!");
    }

    #[test]
    fn non_utf8_bytes_are_decoded_lossily() {
        let mut bytes = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nAuthor: ".to_vec();
        bytes.extend_from_slice(b"J\xf6rg\nRequires-Dist: bar\n");
        let metadata = CoreMetadata::parse(&bytes).unwrap();
        assert_eq!(requirements(&metadata), ["bar"]);
    }

    #[test]
    fn missing_or_invalid_required_fields_fail() {
        let cases = [
            (
                "Name: foo\nVersion: 1\n",
                "the core metadata has no `Metadata-Version` field",
            ),
            (
                "Metadata-Version: 2.1\nVersion: 1\n",
                "the core metadata has no `Name` field",
            ),
            (
                "Metadata-Version: 2.1\nName: foo\n\nVersion: 1\n",
                "the core metadata has no `Version` field",
            ),
        ];
        for (text, expected) in cases {
            let error = CoreMetadata::parse(text.as_bytes()).unwrap_err();
            assert_eq!(error.to_string(), expected, "{text}");
        }
        let error =
            CoreMetadata::parse(b"Metadata-Version: 2.1\nName: foo\nVersion: 2004d\n").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the core metadata field `Version: 2004d` is invalid: "),
            "{error}"
        );
    }

    #[test]
    fn dynamic_decides_whether_sdist_dependencies_are_static() {
        let cases = [
            ("1.2", &[][..], false),
            ("2.1", &[], false),
            ("2.2", &[], true),
            ("2.4", &["License"][..], true),
            ("2.2", &["Requires-Dist"], false),
            ("2.3", &["requires-dist"], false),
            ("3.0", &[], true),
            ("junk", &[], false),
        ];
        for (metadata_version, dynamic, expected) in cases {
            let mut text = format!("Metadata-Version: {metadata_version}\nName: foo\nVersion: 1\n");
            for field in dynamic {
                text.push_str(&format!("Dynamic: {field}\n"));
            }
            let metadata = parse(&text);
            assert_eq!(metadata.dynamic, dynamic, "{text}");
            assert_eq!(metadata.dependencies_are_static(), expected, "{text}");
        }
    }

    #[test]
    fn old_pkg_info_with_a_folded_description() {
        let metadata = CoreMetadata::parse(include_bytes!(
            "../../tests/fixtures/metadata/simplegeneric-0.8.1.PKG-INFO"
        ))
        .unwrap();
        assert_eq!(metadata.metadata_version, "1.0");
        assert_eq!(metadata.name.as_ref(), "simplegeneric");
        assert!(metadata.requires_dist.is_empty());
        assert!(!metadata.dependencies_are_static());
    }
}
