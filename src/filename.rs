//! Distribution file names: which project, version and kind a file on an index is.
//!
//! Wheels follow the binary distribution format spec (PEP 427/491):
//! `{name}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`, tags possibly
//! compressed with `.` (`py2.py3`). Source distributions are `{name}-{version}.{ext}`; since
//! PEP 625 the name is normalized and the extension is `.tar.gz`, but older uploads use
//! `.zip`, `.tar.bz2`, `.tgz` and unnormalized names with `-` in them
//! (`python-glanceclient-4.8.0.tar.gz`), so the name/version split needs the project name,
//! as pip does. Files that PEP 751 cannot hold (eggs, Windows installers, RPMs) are
//! recognised so that they can be left out with a note rather than silently.

use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::PackageName;

/// A file name that belongs to a project, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistFilename {
    /// A wheel.
    Wheel(WheelFilename),
    /// A source distribution.
    Sdist(SdistFilename),
    /// A distribution format that PEP 751 locks cannot hold.
    Unsupported(UnsupportedFilename),
}

impl DistFilename {
    /// Parses `filename` as a file of `project`. `None` when the file does not belong to the
    /// project or its version is not a PEP 440 version (which no pin can select).
    pub fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        if let Some(stem) = strip_suffix_ignore_case(filename, ".whl") {
            let wheel = WheelFilename::from_stem(stem)?;
            return (&wheel.name == project).then_some(Self::Wheel(wheel));
        }
        if let Some((stem, extension)) = SdistExtension::split(filename) {
            let (name, version) = split_name_version(stem, project)?;
            let version = Version::from_str(version).ok()?;
            return Some(Self::Sdist(SdistFilename {
                name,
                version,
                extension,
            }));
        }
        UnsupportedFilename::parse(filename, project).map(Self::Unsupported)
    }

    /// The version text of `filename` when [`DistFilename::parse`] would take it as a wheel or
    /// sdist of `project` but for the version itself, without allocating: sorting the tens of
    /// thousands of files on a long-lived project's page needs no more. `None` for anything
    /// else (other projects' files, malformed names, the unsupported formats).
    pub fn version_text<'f>(filename: &'f str, project: &PackageName) -> Option<&'f str> {
        // Dashes are found by a plain byte loop: `str::split('-')` set up a searcher for each
        // of the hundreds of thousands of names a cold lock sorts (4% of its CPU time).
        let dashes = |stem: &'f str| {
            stem.bytes()
                .enumerate()
                .filter_map(|(pos, byte)| (byte == b'-').then_some(pos))
        };
        if let Some(stem) = strip_suffix_ignore_case(filename, ".whl") {
            // name-version(-build)?-python-abi-platform: four or five dashes.
            let mut at = [0; 5];
            let mut count = 0;
            for pos in dashes(stem) {
                if count == at.len() {
                    return None;
                }
                at[count] = pos;
                count += 1;
            }
            let form_ok = match count {
                4 => true,
                5 => BuildTag::from_str(&stem[at[1] + 1..at[2]]).is_ok(),
                _ => false,
            };
            return (form_ok && normalizes_to(&stem[..at[0]], project))
                .then(|| &stem[at[0] + 1..at[1]]);
        }
        let (stem, _) = SdistExtension::split(filename)?;
        dashes(stem)
            .find(|&pos| normalizes_to(&stem[..pos], project))
            .map(|pos| &stem[pos + 1..])
    }

    /// The version the file is of.
    pub fn version(&self) -> &Version {
        match self {
            Self::Wheel(w) => &w.version,
            Self::Sdist(s) => &s.version,
            Self::Unsupported(u) => &u.version,
        }
    }
}

/// A parsed wheel file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// The project, normalized.
    pub name: PackageName,
    /// The version.
    pub version: Version,
    /// The optional build tag (`1`, `2_abc`): starts with a digit, sorts wheels of one version.
    pub build: Option<BuildTag>,
    /// Python tags (`cp312`, `py3`).
    pub python: Vec<String>,
    /// ABI tags (`cp312`, `abi3`, `none`).
    pub abi: Vec<String>,
    /// Platform tags (`manylinux_2_17_x86_64`, `any`).
    pub platform: Vec<String>,
}

impl WheelFilename {
    /// Parses a full wheel file name (with `.whl`), whatever project it is of.
    pub fn parse(filename: &str) -> Option<Self> {
        Self::from_stem(strip_suffix_ignore_case(filename, ".whl")?)
    }

    fn from_stem(stem: &str) -> Option<Self> {
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, tags) = match parts.as_slice() {
            [name, version, python, abi, platform] => {
                (name, version, None, [python, abi, platform])
            }
            [name, version, build, python, abi, platform] => {
                (name, version, Some(*build), [python, abi, platform])
            }
            _ => return None,
        };
        let build = match build {
            Some(tag) => Some(BuildTag::from_str(tag).ok()?),
            None => None,
        };
        let split = |tag: &&str| -> Vec<String> { tag.split('.').map(str::to_owned).collect() };
        Some(Self {
            name: PackageName::from_str(name).ok()?,
            version: Version::from_str(version).ok()?,
            build,
            python: split(tags[0]),
            abi: split(tags[1]),
            platform: split(tags[2]),
        })
    }

    /// Every `python-abi-platform` triple the file is compatible with.
    pub fn tags(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.python.iter().flat_map(move |py| {
            self.abi.iter().flat_map(move |abi| {
                self.platform
                    .iter()
                    .map(move |plat| (py.as_str(), abi.as_str(), plat.as_str()))
            })
        })
    }
}

/// A wheel build tag: a number, then an optional string, compared in that order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildTag {
    /// The leading digits.
    pub number: u64,
    /// The rest.
    pub suffix: String,
}

impl FromStr for BuildTag {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(());
        }
        Ok(Self {
            number: s[..digits].parse().map_err(|_| ())?,
            suffix: s[digits..].to_owned(),
        })
    }
}

/// A parsed source distribution file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistFilename {
    /// The project, normalized.
    pub name: PackageName,
    /// The version.
    pub version: Version,
    /// The archive format.
    pub extension: SdistExtension,
}

/// The archive formats pip accepts for source distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SdistExtension {
    /// `.tar.gz`: the only one allowed since PEP 625.
    TarGz,
    /// `.zip`.
    Zip,
    /// `.tar.bz2`.
    TarBz2,
    /// `.tgz`.
    Tgz,
    /// `.tar.xz`.
    TarXz,
    /// `.tar`.
    Tar,
}

impl SdistExtension {
    const ALL: [(&'static str, Self); 6] = [
        (".tar.gz", Self::TarGz),
        (".zip", Self::Zip),
        (".tar.bz2", Self::TarBz2),
        (".tgz", Self::Tgz),
        (".tar.xz", Self::TarXz),
        (".tar", Self::Tar),
    ];

    /// Whether PEP 751 (and the packaging library's reader) accepts this format for
    /// `packages.sdist`: `.tar.gz` and `.zip` only.
    pub fn is_pep751_sdist(self) -> bool {
        matches!(self, Self::TarGz | Self::Zip)
    }

    /// The order pip and uv prefer sdist formats in (lower first): `.tar.gz`, `.zip`, the rest.
    pub fn preference(self) -> u8 {
        match self {
            Self::TarGz => 0,
            Self::Zip => 1,
            _ => 2,
        }
    }

    /// Splits `filename` into its stem and sdist extension.
    pub fn split(filename: &str) -> Option<(&str, Self)> {
        Self::ALL.iter().find_map(|(suffix, ext)| {
            strip_suffix_ignore_case(filename, suffix).map(|stem| (stem, *ext))
        })
    }
}

impl fmt::Display for SdistExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = Self::ALL
            .iter()
            .find(|(_, ext)| ext == self)
            .map_or("", |(suffix, _)| suffix);
        f.write_str(suffix)
    }
}

/// A file of a format that `pylock.toml` cannot record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedFilename {
    /// The version the file is of.
    pub version: Version,
    /// What kind of file it is.
    pub kind: UnsupportedKind,
}

/// Formats the index may list that are not wheels or sdists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsupportedKind {
    /// A setuptools egg (`.egg`).
    Egg,
    /// A Windows installer (`.exe`, `.msi`).
    WindowsInstaller,
    /// An RPM (`.rpm`).
    Rpm,
    /// A macOS disk image (`.dmg`).
    DiskImage,
}

impl fmt::Display for UnsupportedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Egg => "egg",
            Self::WindowsInstaller => "Windows installer",
            Self::Rpm => "RPM",
            Self::DiskImage => "disk image",
        })
    }
}

impl UnsupportedFilename {
    fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        const KINDS: [(&str, UnsupportedKind); 5] = [
            (".egg", UnsupportedKind::Egg),
            (".exe", UnsupportedKind::WindowsInstaller),
            (".msi", UnsupportedKind::WindowsInstaller),
            (".rpm", UnsupportedKind::Rpm),
            (".dmg", UnsupportedKind::DiskImage),
        ];
        let (stem, kind) = KINDS.iter().find_map(|(suffix, kind)| {
            strip_suffix_ignore_case(filename, suffix).map(|stem| (stem, *kind))
        })?;
        let (_, rest) = split_name_version(stem, project)?;
        // `1.0-py2.7` (egg), `1.0.win32-py2.7` / `1.0.win-amd64` (bdist_wininst/msi),
        // `1.0-1.noarch` (rpm): the version ends at the next `-` or platform word.
        let mut version = rest.split('-').next().unwrap_or(rest);
        for platform in [".win", ".linux", ".macosx"] {
            if let Some(pos) = version.find(platform) {
                version = &version[..pos];
            }
        }
        Some(Self {
            version: Version::from_str(version).ok()?,
            kind,
        })
    }
}

/// Splits `{name}-{version}` where the name itself may contain `-`, by finding the dash after
/// which the prefix normalizes to `project`.
fn split_name_version<'a>(stem: &'a str, project: &PackageName) -> Option<(PackageName, &'a str)> {
    stem.match_indices('-').find_map(|(pos, _)| {
        let name = PackageName::from_str(&stem[..pos]).ok()?;
        (&name == project).then(|| (name, &stem[pos + 1..]))
    })
}

/// Whether `raw` is a valid project name that normalizes to `project`: the same answer as
/// `PackageName::from_str(raw) == Ok(project)`, without building the normalized name.
fn normalizes_to(raw: &str, project: &PackageName) -> bool {
    let mut expected = project.as_ref().bytes();
    let mut last_was_separator = None;
    for byte in raw.bytes() {
        let separator = matches!(byte, b'-' | b'_' | b'.');
        let normalized = match byte {
            b'A'..=b'Z' => Some(byte.to_ascii_lowercase()),
            b'a'..=b'z' | b'0'..=b'9' => Some(byte),
            b'-' | b'_' | b'.' => match last_was_separator {
                None => return false,
                Some(true) => None,
                Some(false) => Some(b'-'),
            },
            _ => return false,
        };
        if normalized.is_some_and(|byte| expected.next() != Some(byte)) {
            return false;
        }
        last_was_separator = Some(separator);
    }
    // A trailing separator added a `-` that no valid project name ends with.
    expected.next().is_none()
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(s: &str) -> PackageName {
        PackageName::from_str(s).unwrap()
    }

    #[test]
    fn wheels() {
        let f = DistFilename::parse("oslo_config-10.7.0-py3-none-any.whl", &name("oslo.config"));
        let Some(DistFilename::Wheel(w)) = f else {
            panic!("{f:?}")
        };
        assert_eq!(w.version.to_string(), "10.7.0");
        assert_eq!(w.build, None);
        assert_eq!(w.tags().collect::<Vec<_>>(), [("py3", "none", "any")]);

        let w = WheelFilename::parse(
            "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(w.platform.len(), 2);

        let w = WheelFilename::parse("pkg-1.0-12abc-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            w.build,
            Some(BuildTag {
                number: 12,
                suffix: "abc".into()
            })
        );
        assert_eq!(w.tags().count(), 2);
        // A build tag must start with a digit; a wheel of another project is not ours.
        assert_eq!(WheelFilename::parse("pkg-1.0-x-py3-none-any.whl"), None);
        assert_eq!(
            DistFilename::parse("other-1.0-py3-none-any.whl", &name("pkg")),
            None
        );
    }

    #[test]
    fn sdists_old_and_new() {
        let cases = [
            (
                "python-glanceclient",
                "python-glanceclient-4.8.0.tar.gz",
                "4.8.0",
                SdistExtension::TarGz,
            ),
            (
                "python-glanceclient",
                "python_glanceclient-4.8.0.tar.gz",
                "4.8.0",
                SdistExtension::TarGz,
            ),
            (
                "simplegeneric",
                "simplegeneric-0.8.1.zip",
                "0.8.1",
                SdistExtension::Zip,
            ),
            (
                "PasteDeploy",
                "PasteDeploy-3.1.0.TAR.GZ",
                "3.1.0",
                SdistExtension::TarGz,
            ),
            ("foo", "foo-1.0.tar.bz2", "1.0", SdistExtension::TarBz2),
            ("foo", "foo-1.0.tgz", "1.0", SdistExtension::Tgz),
            (
                "chardet",
                "chardet-6.0.0.post1.tar.gz",
                "6.0.0.post1",
                SdistExtension::TarGz,
            ),
        ];
        for (project, file, version, ext) in cases {
            match DistFilename::parse(file, &name(project)) {
                Some(DistFilename::Sdist(s)) => {
                    assert_eq!(s.version.to_string(), version, "{file}");
                    assert_eq!(s.extension, ext, "{file}");
                }
                other => panic!("{file}: {other:?}"),
            }
        }
        // `foo-bar-1.0` is not a file of `foo` (version `bar-1.0` is not PEP 440).
        assert_eq!(
            DistFilename::parse("foo-bar-1.0.tar.gz", &name("foo")),
            None
        );
    }

    #[test]
    fn unsupported_formats_are_recognised_with_their_version() {
        let cases = [
            (
                "ldap3",
                "ldap3-2.9.1-py2.7.egg",
                "2.9.1",
                UnsupportedKind::Egg,
            ),
            (
                "infi.dtypes.wwn",
                "infi.dtypes.wwn-0.1.1-py2.7.egg",
                "0.1.1",
                UnsupportedKind::Egg,
            ),
            (
                "numpy",
                "numpy-1.0.1.dev3460.win32-py2.4.exe",
                "1.0.1.dev3460",
                UnsupportedKind::WindowsInstaller,
            ),
            (
                "foo",
                "foo-2.0.win-amd64.msi",
                "2.0",
                UnsupportedKind::WindowsInstaller,
            ),
        ];
        for (project, file, version, kind) in cases {
            match DistFilename::parse(file, &name(project)) {
                Some(DistFilename::Unsupported(u)) => {
                    assert_eq!(u.version.to_string(), version, "{file}");
                    assert_eq!(u.kind, kind, "{file}");
                }
                other => panic!("{file}: {other:?}"),
            }
        }
    }

    /// Pieces file names are made of, the separators and their neighbours above all.
    fn piece() -> impl Strategy<Value = String> {
        let fragments = [
            "a", "A_a", "a.a", "a1", "A", "1.0", "2", "1a", "x", "py3", "none", "é", "",
        ];
        proptest::prop_oneof![
            proptest::sample::select(fragments.to_vec()).prop_map(str::to_owned),
            proptest::string::string_regex("[Aa1._-]{0,3}").unwrap(),
        ]
    }

    proptest! {
        #[test]
        fn name_comparison_without_allocating_agrees_with_package_name(
            raw in proptest::string::string_regex("[Aab1._-]{0,6}|é").unwrap(),
            project in proptest::string::string_regex("[ab1]{1,2}(-[ab1]{1,2})?").unwrap(),
        ) {
            let project = name(&project);
            let expected = PackageName::from_str(&raw).is_ok_and(|n| n == project);
            prop_assert_eq!(normalizes_to(&raw, &project), expected);
        }

        #[test]
        fn version_text_agrees_with_a_full_parse(
            pieces in proptest::collection::vec(piece(), 1..7),
            suffix in proptest::sample::select(vec![".whl", ".tar.gz", ".zip", ".WHL", ".egg", ""]),
            project in proptest::sample::select(vec!["a", "a-a", "a1"]),
        ) {
            let filename = format!("{}{suffix}", pieces.join("-"));
            agrees(&filename, project)?;
        }

        #[test]
        fn version_text_agrees_with_a_full_parse_of_wheel_shaped_names(
            name_part in proptest::sample::select(vec!["a", "A_a", "a.a", "a-a", "b", "a_"]),
            version in proptest::sample::select(vec!["1.0", "2", "x", ""]),
            build in proptest::sample::select(vec![None, Some("1"), Some("x"), Some("1a"), Some("")]),
            tags in proptest::collection::vec(piece(), 3..=3),
            project in proptest::sample::select(vec!["a", "a-a", "a1"]),
        ) {
            let build = build.map(|b| format!("-{b}")).unwrap_or_default();
            let filename = format!("{name_part}-{version}{build}-{}.whl", tags.join("-"));
            agrees(&filename, project)?;
        }
    }

    /// [`DistFilename::version_text`] says what [`DistFilename::parse`] would of `filename`.
    fn agrees(filename: &str, project: &str) -> Result<(), TestCaseError> {
        let project = name(project);
        let text = DistFilename::version_text(filename, &project);
        match DistFilename::parse(filename, &project) {
            Some(DistFilename::Wheel(WheelFilename { version, .. }))
            | Some(DistFilename::Sdist(SdistFilename { version, .. })) => {
                let parsed = text.map(|t| Version::from_str(t).ok());
                prop_assert_eq!(parsed, Some(Some(version)), "{}", filename);
            }
            Some(DistFilename::Unsupported(_)) => prop_assert_eq!(text, None),
            None => prop_assert!(
                text.is_none_or(|t| Version::from_str(t).is_err()),
                "{} gave {:?}",
                filename,
                text
            ),
        }
        Ok(())
    }
}
