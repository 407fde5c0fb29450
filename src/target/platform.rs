//! Wheel platform tags as a target names them (`--platform`), and what each one implies.
//!
//! A [`Platform`] is one tag a user gives (`manylinux_2_28_x86_64`, `macosx_11_0_arm64`,
//! `win_amd64`), validated once. It expands into every platform tag a machine of that kind
//! installs, best first ([`Platform::compatible`]), and it fixes the PEP 508 marker values
//! that depend on the operating system and machine ([`Platform::sys_platform`] and friends).
//!
//! The expansion follows `packaging.tags` for a machine of the named kind, not pip's
//! `--platform` handling, which matches `manylinux_X_Y` and `musllinux_X_Y` tags exactly and
//! so refuses a `manylinux_2_17` wheel for `--platform manylinux_2_28_x86_64` although every
//! such machine runs it:
//!
//! - `manylinux_X_Y_arch` (PEP 600): every glibc from X.Y down to 2.5 on x86_64/i686 and to
//!   2.17 elsewhere, each followed by its legacy alias where one exists (`manylinux2014` =
//!   2.17, `manylinux2010` = 2.12, `manylinux1` = 2.5), as `packaging._manylinux` yields them
//!   for a glibc X.Y system. The legacy names are accepted as input and mean their glibc.
//! - `musllinux_X_Y_arch` (PEP 656): every musl minor from Y down to 0, as
//!   `packaging._musllinux` does.
//! - `macosx_X_Y_arch`: `packaging.tags.mac_platforms((X, Y), arch)`, which is also what pip
//!   does for `--platform macosx_…`: older macOS releases and the multi-architecture formats
//!   (`universal2`, `intel`, `fat64`, `fat32`, `universal`).
//! - `linux_arch`, `win_amd64`, `win32`, `win_arm64`: only themselves, as pip does. A
//!   `linux_*` wheel was built for one machine's libraries, so a `manylinux` target never takes
//!   one; only a target named `linux_*` (or a probed interpreter that lists it) does.

use std::fmt;
use std::str::FromStr;

use super::TargetError;

/// A validated wheel platform tag naming the kind of machine a target is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// The tag as given, lowercased (`manylinux2014_x86_64` stays as it is).
    tag: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Manylinux { glibc: (u32, u32), arch: LinuxArch },
    Musllinux { musl: (u32, u32), arch: LinuxArch },
    Linux(LinuxArch),
    Macos { version: (u32, u32), arch: MacArch },
    Windows(WindowsArch),
}

impl Platform {
    /// The tag as given (lowercased), e.g. `manylinux_2_28_x86_64`.
    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// Every platform tag a machine of this kind installs, best first (see the module docs).
    pub fn compatible(&self) -> Vec<String> {
        match self.kind {
            Kind::Manylinux { glibc, arch } => manylinux_tags(glibc, arch),
            Kind::Musllinux { musl, arch } => (0..=musl.1)
                .rev()
                .map(|minor| format!("musllinux_{}_{minor}_{}", musl.0, arch.as_str()))
                .collect(),
            Kind::Linux(_) | Kind::Windows(_) => vec![self.tag.clone()],
            Kind::Macos { version, arch } => mac_platforms(version, arch),
        }
    }

    /// PEP 508 `sys_platform`: `linux`, `darwin` or `win32`.
    pub fn sys_platform(&self) -> &'static str {
        match self.kind {
            Kind::Manylinux { .. } | Kind::Musllinux { .. } | Kind::Linux(_) => "linux",
            Kind::Macos { .. } => "darwin",
            Kind::Windows(_) => "win32",
        }
    }

    /// PEP 508 `platform_system`: `Linux`, `Darwin` or `Windows`.
    pub fn platform_system(&self) -> &'static str {
        match self.kind {
            Kind::Manylinux { .. } | Kind::Musllinux { .. } | Kind::Linux(_) => "Linux",
            Kind::Macos { .. } => "Darwin",
            Kind::Windows(_) => "Windows",
        }
    }

    /// PEP 508 `os_name`: `posix` or `nt`.
    pub fn os_name(&self) -> &'static str {
        match self.kind {
            Kind::Windows(_) => "nt",
            _ => "posix",
        }
    }

    /// PEP 508 `platform_machine` as `platform.machine()` reports it on such a machine:
    /// the Linux architecture (`x86_64`, `aarch64`), `x86_64`/`arm64` on macOS, and
    /// `AMD64`/`x86`/`ARM64` on Windows.
    pub fn platform_machine(&self) -> &'static str {
        match self.kind {
            Kind::Manylinux { arch, .. } | Kind::Musllinux { arch, .. } | Kind::Linux(arch) => {
                arch.as_str()
            }
            Kind::Macos { arch, .. } => arch.as_str(),
            Kind::Windows(WindowsArch::Amd64) => "AMD64",
            Kind::Windows(WindowsArch::X86) => "x86",
            Kind::Windows(WindowsArch::Arm64) => "ARM64",
        }
    }

    /// The conservative platform of the machine pinguard itself was built for, used when no
    /// Python on this machine can say better: glibc 2.17 (manylinux2014, the oldest glibc
    /// `packaging` considers off x86) or musl 1.1, macOS 11.0 on arm64 and 10.13 on x86_64
    /// (the oldest the python.org installers of current CPython support), and the exact
    /// Windows tag. `None` on other systems.
    pub(crate) fn built_for() -> Option<Self> {
        use std::env::consts::{ARCH, OS};
        let linux_arch = linux_arch()?;
        let tag = match OS {
            "linux" if cfg!(target_env = "musl") => format!("musllinux_1_1_{linux_arch}"),
            "linux" => format!("manylinux_2_17_{linux_arch}"),
            "macos" if ARCH == "aarch64" => "macosx_11_0_arm64".to_owned(),
            "macos" if ARCH == "x86_64" => "macosx_10_13_x86_64".to_owned(),
            "windows" if ARCH == "x86_64" => "win_amd64".to_owned(),
            "windows" if ARCH == "x86" => "win32".to_owned(),
            "windows" if ARCH == "aarch64" => "win_arm64".to_owned(),
            _ => return None,
        };
        tag.parse().ok()
    }

    /// This machine's platform as the C library pinguard runs on tells it: glibc's version and
    /// the architecture pinguard was built for, which is what packaging derives for a native
    /// Python here (`os.confstr("CS_GNU_LIBC_VERSION")`). It answers without starting an
    /// interpreter: through a pyenv shim that was 240 processes and 0.3 s of CPU, competing
    /// with a lock for the machine's cores. `None` off glibc (Python is asked there).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub(crate) fn native() -> Option<Self> {
        // SAFETY: gnu_get_libc_version takes nothing and returns a pointer to a static,
        // NUL-terminated string that lives as long as the process.
        let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        let (major, minor) = super::probe::glibc_major_minor(version.to_str().ok()?)?;
        let arch = linux_arch()?;
        format!("manylinux_{major}_{minor}_{arch}").parse().ok()
    }

    /// No native answer off glibc: Python is asked.
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub(crate) fn native() -> Option<Self> {
        None
    }
}

/// The Linux wheel architecture of the machine pinguard was built for, as packaging names it.
fn linux_arch() -> Option<&'static str> {
    Some(match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "x86" => "i686",
        "aarch64" => "aarch64",
        "arm" => "armv7l",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loongarch64",
        _ => return None,
    })
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl FromStr for Platform {
    type Err = TargetError;

    /// Parses one platform tag. Case does not matter; anything else that is not a tag of a
    /// known family and architecture is refused with a message naming valid ones.
    fn from_str(given: &str) -> Result<Self, TargetError> {
        let tag = given.trim().to_ascii_lowercase();
        let kind = Kind::parse(given, &tag)?;
        Ok(Self { tag, kind })
    }
}

impl Kind {
    /// The kind of `tag` (`given`, lowercased), or why it is none.
    fn parse(given: &str, tag: &str) -> Result<Self, TargetError> {
        let unknown = || TargetError::PlatformTag {
            given: given.to_owned(),
        };
        match tag {
            "win_amd64" => return Ok(Self::Windows(WindowsArch::Amd64)),
            "win32" => return Ok(Self::Windows(WindowsArch::X86)),
            "win_arm64" => return Ok(Self::Windows(WindowsArch::Arm64)),
            _ => {}
        }
        if let Some(rest) = tag.strip_prefix("manylinux_") {
            let (major, minor, arch) = split_version_arch(rest).ok_or_else(unknown)?;
            if major < 2 {
                return Err(unknown());
            }
            let arch = LinuxArch::parse(given, "manylinux", arch)?;
            let oldest = arch.oldest_glibc();
            if (major, minor) < oldest {
                let (major, minor) = oldest;
                return Err(TargetError::PlatformTooOld {
                    given: given.to_owned(),
                    oldest: format!("manylinux_{major}_{minor}_{}", arch.as_str()),
                });
            }
            return Ok(Self::Manylinux {
                glibc: (major, minor),
                arch,
            });
        }
        let legacy = LEGACY_MANYLINUX.iter().find_map(|(name, glibc, arches)| {
            let arch = tag.strip_prefix(name)?.strip_prefix('_')?;
            Some((*name, *glibc, *arches, arch))
        });
        if let Some((name, glibc, arches, arch)) = legacy {
            if !arches.contains(&arch) {
                return Err(TargetError::PlatformArch {
                    given: given.to_owned(),
                    family: name,
                    arch: arch.to_owned(),
                    known: arches.join(", "),
                });
            }
            let arch = LinuxArch::parse(given, name, arch)?;
            return Ok(Self::Manylinux { glibc, arch });
        }
        if let Some(rest) = tag.strip_prefix("musllinux_") {
            let (major, minor, arch) = split_version_arch(rest).ok_or_else(unknown)?;
            if major < 1 {
                return Err(unknown());
            }
            let arch = LinuxArch::parse(given, "musllinux", arch)?;
            return Ok(Self::Musllinux {
                musl: (major, minor),
                arch,
            });
        }
        if let Some(rest) = tag.strip_prefix("macosx_") {
            let (major, minor, arch) = split_version_arch(rest).ok_or_else(unknown)?;
            if major < 10 {
                return Err(unknown());
            }
            let arch = MacArch::parse(given, arch)?;
            // Apple silicon came with macOS 11.
            if arch == MacArch::Arm64 && major < 11 {
                return Err(TargetError::PlatformTooOld {
                    given: given.to_owned(),
                    oldest: "macosx_11_0_arm64".to_owned(),
                });
            }
            return Ok(Self::Macos {
                version: (major, minor),
                arch,
            });
        }
        if let Some(arch) = tag.strip_prefix("linux_") {
            return Ok(Self::Linux(LinuxArch::parse(given, "linux", arch)?));
        }
        Err(unknown())
    }
}

/// The legacy manylinux names (PEP 513, 571, 599): the glibc each stands for and the
/// architectures it was defined for.
const LEGACY_MANYLINUX: [(&str, (u32, u32), &[&str]); 3] = [
    (
        "manylinux2014",
        (2, 17),
        &[
            "x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x",
        ],
    ),
    ("manylinux2010", (2, 12), &["x86_64", "i686"]),
    ("manylinux1", (2, 5), &["x86_64", "i686"]),
];

/// `X_Y_arch` → (X, Y, arch); `None` unless X and Y are numbers and arch is not empty.
fn split_version_arch(rest: &str) -> Option<(u32, u32, &str)> {
    let mut parts = rest.splitn(3, '_');
    let major = parts.next()?;
    let minor = parts.next()?;
    let arch = parts.next().filter(|arch| !arch.is_empty())?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(major)?, number(minor)?, arch))
}

/// `packaging._manylinux.platform_tags` for a system with glibc `glibc`: each version down to
/// the architecture's oldest, legacy aliases right after the version they stand for.
fn manylinux_tags(glibc: (u32, u32), arch: LinuxArch) -> Vec<String> {
    // packaging assumes a glibc major series ends at minor 50 until one really does.
    const LAST_MINOR: u32 = 50;
    let oldest = arch.oldest_glibc();
    let mut tags = Vec::new();
    for major in (oldest.0..=glibc.0).rev() {
        let newest = if major == glibc.0 {
            glibc.1
        } else {
            LAST_MINOR
        };
        let floor = if major == oldest.0 { oldest.1 } else { 0 };
        for minor in (floor..=newest).rev() {
            tags.push(format!("manylinux_{major}_{minor}_{}", arch.as_str()));
            if let Some((legacy, ..)) = LEGACY_MANYLINUX
                .iter()
                .find(|(_, version, _)| *version == (major, minor))
            {
                tags.push(format!("{legacy}_{}", arch.as_str()));
            }
        }
    }
    tags
}

/// `packaging.tags.mac_platforms(version, arch)`.
fn mac_platforms(version: (u32, u32), arch: MacArch) -> Vec<String> {
    let mut tags = Vec::new();
    let mut push = |major: u32, minor: u32, formats: &[&str]| {
        for format in formats {
            tags.push(format!("macosx_{major}_{minor}_{format}"));
        }
    };
    if version.0 == 10 {
        // Before macOS 11 each yearly release bumped the minor version.
        for minor in (0..=version.1).rev() {
            push(10, minor, arch.binary_formats((10, minor)));
        }
    } else {
        // Since macOS 11 each yearly release bumps the major version; the minor versions are
        // mid-year updates that wheels do not name.
        for major in (11..=version.0).rev() {
            push(major, 0, arch.binary_formats((major, 0)));
        }
        // 11.0 runs x86_64 binaries built for older releases; arm64 did not exist before
        // 11.0, but a universal2 binary may name the older version its x86_64 half needs.
        for minor in (4..=16).rev() {
            match arch {
                MacArch::X86_64 => push(10, minor, arch.binary_formats((10, minor))),
                MacArch::Arm64 => push(10, minor, &["universal2"]),
            }
        }
    }
    tags
}

/// Linux machine architectures, as `platform.machine()` and wheel tags spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LinuxArch {
    X86_64,
    I686,
    Aarch64,
    Armv7l,
    Ppc64,
    Ppc64le,
    S390x,
    Riscv64,
    Loongarch64,
}

impl LinuxArch {
    const ALL: [(&'static str, Self); 9] = [
        ("x86_64", Self::X86_64),
        ("i686", Self::I686),
        ("aarch64", Self::Aarch64),
        ("armv7l", Self::Armv7l),
        ("ppc64", Self::Ppc64),
        ("ppc64le", Self::Ppc64le),
        ("s390x", Self::S390x),
        ("riscv64", Self::Riscv64),
        ("loongarch64", Self::Loongarch64),
    ];

    fn parse(given: &str, family: &'static str, arch: &str) -> Result<Self, TargetError> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == arch)
            .map(|(_, arch)| *arch)
            .ok_or_else(|| TargetError::PlatformArch {
                given: given.to_owned(),
                family,
                arch: arch.to_owned(),
                known: Self::ALL.map(|(name, _)| name).join(", "),
            })
    }

    fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, arch)| *arch == self)
            .map_or("", |(name, _)| name)
    }

    /// The oldest glibc `packaging` considers: 2.5 (manylinux1) on x86, 2.17 (manylinux2014,
    /// the first to define the others) elsewhere.
    fn oldest_glibc(self) -> (u32, u32) {
        match self {
            Self::X86_64 | Self::I686 => (2, 5),
            _ => (2, 17),
        }
    }
}

/// macOS machine architectures (`platform.machine()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MacArch {
    X86_64,
    Arm64,
}

impl MacArch {
    fn parse(given: &str, arch: &str) -> Result<Self, TargetError> {
        match arch {
            "x86_64" => Ok(Self::X86_64),
            "arm64" => Ok(Self::Arm64),
            _ => Err(TargetError::PlatformArch {
                given: given.to_owned(),
                family: "macosx",
                arch: arch.to_owned(),
                known: "x86_64, arm64 (a target names a machine, not a multi-architecture \
                        format such as universal2)"
                    .to_owned(),
            }),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// `packaging.tags._mac_binary_formats`: the formats a binary for `version` may have
    /// that run on this architecture. The three-architecture format is spelled `fat32` as
    /// in every packaging that pip vendors so far; packaging's main branch renamed it `fat3`
    /// (pypa/packaging#1199). No wheel carries either name.
    fn binary_formats(self, version: (u32, u32)) -> &'static [&'static str] {
        match self {
            Self::X86_64 if version < (10, 4) => &[],
            Self::X86_64 => &[
                "x86_64",
                "intel",
                "fat64",
                "fat32",
                "universal2",
                "universal",
            ],
            Self::Arm64 => &["arm64", "universal2"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum WindowsArch {
    Amd64,
    X86,
    Arm64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compatible(tag: &str) -> Vec<String> {
        tag.parse::<Platform>()
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
            .compatible()
    }

    #[test]
    fn manylinux_expands_to_older_glibc_with_legacy_aliases() {
        let tags = compatible("manylinux_2_28_x86_64");
        let head: Vec<&str> = tags.iter().take(4).map(String::as_str).collect();
        assert_eq!(
            head,
            [
                "manylinux_2_28_x86_64",
                "manylinux_2_27_x86_64",
                "manylinux_2_26_x86_64",
                "manylinux_2_25_x86_64"
            ]
        );
        let position = |tag: &str| tags.iter().position(|t| t == tag);
        // Each alias right after the glibc it stands for (packaging's order).
        for (version, alias) in [
            ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
            ("manylinux_2_12_x86_64", "manylinux2010_x86_64"),
            ("manylinux_2_5_x86_64", "manylinux1_x86_64"),
        ] {
            assert_eq!(
                position(alias),
                position(version).map(|p| p + 1),
                "{alias} in {tags:?}"
            );
        }
        assert_eq!(tags.last().map(String::as_str), Some("manylinux1_x86_64"));
        // 2.28 down to 2.5 and three aliases; nothing newer, no linux_x86_64.
        assert_eq!(tags.len(), 24 + 3);
        assert_eq!(position("manylinux_2_29_x86_64"), None);
        assert_eq!(position("linux_x86_64"), None);
    }

    #[test]
    fn platform_expansion() {
        // (given, expected first tags, expected count, a tag that must be absent)
        let cases: &[(&str, &[&str], usize, &str)] = &[
            (
                // An alias means its glibc, and is listed as packaging lists it.
                "manylinux2014_x86_64",
                &[
                    "manylinux_2_17_x86_64",
                    "manylinux2014_x86_64",
                    "manylinux_2_16_x86_64",
                ],
                13 + 3,
                "manylinux_2_18_x86_64",
            ),
            (
                "manylinux2010_i686",
                &[
                    "manylinux_2_12_i686",
                    "manylinux2010_i686",
                    "manylinux_2_11_i686",
                ],
                8 + 2,
                "manylinux2014_i686",
            ),
            (
                "manylinux1_x86_64",
                &["manylinux_2_5_x86_64", "manylinux1_x86_64"],
                2,
                "manylinux_2_6_x86_64",
            ),
            (
                // Off x86 manylinux starts at glibc 2.17.
                "manylinux_2_28_aarch64",
                &["manylinux_2_28_aarch64", "manylinux_2_27_aarch64"],
                12 + 1,
                "manylinux_2_16_aarch64",
            ),
            (
                "musllinux_1_2_x86_64",
                &[
                    "musllinux_1_2_x86_64",
                    "musllinux_1_1_x86_64",
                    "musllinux_1_0_x86_64",
                ],
                3,
                "manylinux_2_17_x86_64",
            ),
            ("linux_x86_64", &["linux_x86_64"], 1, "manylinux1_x86_64"),
            ("win_amd64", &["win_amd64"], 1, "win32"),
            ("WIN32", &["win32"], 1, "win_amd64"),
            ("win_arm64", &["win_arm64"], 1, "win_amd64"),
            (
                "macosx_11_0_arm64",
                &[
                    "macosx_11_0_arm64",
                    "macosx_11_0_universal2",
                    "macosx_10_16_universal2",
                    "macosx_10_15_universal2",
                ],
                2 + 13,
                "macosx_10_15_x86_64",
            ),
            (
                "macosx_14_0_arm64",
                &[
                    "macosx_14_0_arm64",
                    "macosx_14_0_universal2",
                    "macosx_13_0_arm64",
                ],
                8 + 13,
                "macosx_15_0_arm64",
            ),
            (
                "macosx_12_0_x86_64",
                &[
                    "macosx_12_0_x86_64",
                    "macosx_12_0_intel",
                    "macosx_12_0_fat64",
                    "macosx_12_0_fat32",
                    "macosx_12_0_universal2",
                    "macosx_12_0_universal",
                    "macosx_11_0_x86_64",
                ],
                6 * 2 + 6 * 13,
                "macosx_12_0_arm64",
            ),
            (
                "macosx_10_9_x86_64",
                &["macosx_10_9_x86_64", "macosx_10_9_intel"],
                6 * 6,
                "macosx_10_10_x86_64",
            ),
        ];
        for (given, head, count, absent) in cases {
            let tags = compatible(given);
            assert_eq!(&tags[..head.len()], *head, "{given}: {tags:?}");
            assert_eq!(tags.len(), *count, "{given}: {tags:?}");
            assert!(!tags.iter().any(|t| t == absent), "{given}: {absent}");
        }
    }

    #[test]
    fn bad_platforms_are_refused_with_examples() {
        let cases = [
            (
                "linux",
                "`--platform linux` is not a wheel platform tag; use one such as \
                 manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64",
            ),
            (
                "manylinux_2_28",
                "`--platform manylinux_2_28` is not a wheel platform tag; use one such as \
                 manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64",
            ),
            (
                "x86_64-unknown-linux-gnu",
                "`--platform x86_64-unknown-linux-gnu` is not a wheel platform tag; use one \
                 such as manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64",
            ),
            (
                "manylinux_2_x_x86_64",
                "`--platform manylinux_2_x_x86_64` is not a wheel platform tag; use one such \
                 as manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64",
            ),
            (
                "win64",
                "`--platform win64` is not a wheel platform tag; use one such as \
                 manylinux_2_28_x86_64, macosx_11_0_arm64 or win_amd64",
            ),
            (
                "manylinux_2_28_amd64",
                "`--platform manylinux_2_28_amd64`: manylinux wheels are not built for \
                 `amd64`; use one of x86_64, i686, aarch64, armv7l, ppc64, ppc64le, s390x, \
                 riscv64, loongarch64",
            ),
            (
                "manylinux1_aarch64",
                "`--platform manylinux1_aarch64`: manylinux1 wheels are not built for \
                 `aarch64`; use one of x86_64, i686",
            ),
            (
                "macosx_11_0_universal2",
                "`--platform macosx_11_0_universal2`: macosx wheels are not built for \
                 `universal2`; use one of x86_64, arm64 (a target names a machine, not a \
                 multi-architecture format such as universal2)",
            ),
            (
                "manylinux_2_12_aarch64",
                "`--platform manylinux_2_12_aarch64` predates every wheel for its \
                 architecture; use manylinux_2_17_aarch64 or newer",
            ),
            (
                "macosx_10_15_arm64",
                "`--platform macosx_10_15_arm64` predates every wheel for its \
                 architecture; use macosx_11_0_arm64 or newer",
            ),
        ];
        for (given, message) in cases {
            let error = given.parse::<Platform>().unwrap_err();
            assert_eq!(error.to_string(), message, "{given}");
        }
    }

    #[test]
    fn markers_follow_the_platform() {
        // (tag, sys_platform, platform_system, os_name, platform_machine)
        let cases = [
            (
                "manylinux_2_17_aarch64",
                "linux",
                "Linux",
                "posix",
                "aarch64",
            ),
            ("musllinux_1_2_x86_64", "linux", "Linux", "posix", "x86_64"),
            (
                "manylinux2014_ppc64le",
                "linux",
                "Linux",
                "posix",
                "ppc64le",
            ),
            ("linux_armv7l", "linux", "Linux", "posix", "armv7l"),
            ("macosx_11_0_arm64", "darwin", "Darwin", "posix", "arm64"),
            ("macosx_10_9_x86_64", "darwin", "Darwin", "posix", "x86_64"),
            ("win_amd64", "win32", "Windows", "nt", "AMD64"),
            ("win32", "win32", "Windows", "nt", "x86"),
            ("win_arm64", "win32", "Windows", "nt", "ARM64"),
        ];
        for (tag, sys_platform, system, os_name, machine) in cases {
            let platform: Platform = tag.parse().unwrap();
            assert_eq!(
                (
                    platform.sys_platform(),
                    platform.platform_system(),
                    platform.os_name(),
                    platform.platform_machine()
                ),
                (sys_platform, system, os_name, machine),
                "{tag}"
            );
        }
    }

    #[test]
    fn the_built_for_fallback_is_a_platform() {
        if cfg!(any(target_os = "linux", target_os = "macos", windows)) {
            let platform = Platform::built_for().expect("a fallback on this system");
            assert!(!platform.compatible().is_empty());
        }
    }
}
