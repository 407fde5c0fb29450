//! Metadata files out of whole distribution archives.
//!
//! - A wheel (the binary distribution format spec, PEP 427) is a zip holding
//!   `{name}-{version}.dist-info/METADATA`. pip (`wheel_dist_info_dir`) and uv find the
//!   `.dist-info` directory among the top-level directories and compare its name to the wheel's
//!   after normalizing (PEP 503); so does [`wheel_metadata`], case-insensitively, and it takes
//!   the only `.dist-info/METADATA` when none matches by name.
//! - An sdist (the source distribution format spec) is a `.tar.gz` (or, in older uploads, a
//!   `.zip`/`.tgz`/`.tar`) with one top directory `{name}-{version}/` holding `PKG-INFO`;
//!   setuptools-built ones also have `*.egg-info/requires.txt`. [`sdist_metadata`] returns
//!   both, for the caller to prefer `PKG-INFO` when PEP 643 makes its dependencies static.

use std::borrow::Cow;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::{Component, Path};
use std::str::FromStr;

use pep508_rs::PackageName;
use zip::ZipArchive;

use super::MetadataError;
use crate::filename::{SdistExtension, SdistFilename, WheelFilename};

/// The largest metadata member read into memory. Real `METADATA` files with a long
/// description reach a few hundred KiB; this bounds what a hostile archive can make us inflate.
pub const MAX_MEMBER_SIZE: u64 = 16 << 20;

/// The file name a wheel of this parsed name has (for messages).
pub fn wheel_file_name(wheel: &WheelFilename) -> String {
    let build = wheel
        .build
        .as_ref()
        .map(|b| format!("-{}{}", b.number, b.suffix))
        .unwrap_or_default();
    format!(
        "{}-{}{build}-{}-{}-{}.whl",
        wheel.name.as_dist_info_name(),
        wheel.version,
        wheel.python.join("."),
        wheel.abi.join("."),
        wheel.platform.join("."),
    )
}

/// The file name an sdist of this parsed name has (for messages).
pub fn sdist_file_name(sdist: &SdistFilename) -> String {
    format!(
        "{}-{}{}",
        sdist.name.as_dist_info_name(),
        sdist.version,
        sdist.extension
    )
}

/// Reads `*.dist-info/METADATA` out of a wheel.
///
/// The member is the one in a top-level `.dist-info` directory whose name part normalizes to
/// the wheel's project (preferring the one whose version is the wheel's when several do); when
/// no directory matches by name and the wheel has exactly one `.dist-info/METADATA`, that one.
/// Only the central directory and that member are read, so `reader` may be a
/// [`RangeReader`](super::RangeReader).
pub fn wheel_metadata<R: Read + Seek>(
    reader: R,
    wheel: &WheelFilename,
) -> Result<Vec<u8>, MetadataError> {
    let file = wheel_file_name(wheel);
    let zip_error = |source| MetadataError::Zip {
        file: file.clone(),
        source,
    };
    let mut archive = ZipArchive::new(reader).map_err(zip_error)?;
    // (zip index, path) of every `<dir>.dist-info/METADATA` at the top level.
    let candidates: Vec<(usize, String)> = (0..archive.len())
        .filter_map(|index| {
            let name = archive.name_for_index(index)?.ok()?;
            is_dist_info_metadata(&name).then(|| (index, name.into_owned()))
        })
        .collect();
    let paths: Vec<&str> = candidates.iter().map(|(_, path)| path.as_str()).collect();
    let chosen = choose_dist_info(&paths, wheel).ok_or_else(|| {
        if candidates.is_empty() {
            MetadataError::NoDistInfo {
                wheel: file.clone(),
            }
        } else {
            MetadataError::AmbiguousDistInfo {
                wheel: file.clone(),
                found: paths.iter().map(|path| (*path).to_owned()).collect(),
            }
        }
    })?;
    let (index, name) = &candidates[chosen];
    let member = archive.by_index(*index).map_err(zip_error)?;
    read_limited(member).map_err(|e| match e {
        ReadLimited::TooLarge => MetadataError::MemberTooLarge {
            file: file.clone(),
            member: name.clone(),
            limit: MAX_MEMBER_SIZE,
        },
        ReadLimited::Io(e) => zip_error(zip::result::ZipError::Io(e)),
    })
}

/// Whether a wheel's member `name` is `<dir>.dist-info/METADATA` at the top level (any case).
pub(crate) fn is_dist_info_metadata(name: &str) -> bool {
    name.split_once('/').is_some_and(|(dir, member)| {
        member.eq_ignore_ascii_case("METADATA")
            && dist_info_stem(dir).is_some_and(|stem| !stem.is_empty())
    })
}

/// `dir` without its `.dist-info` suffix (any case), if it has one.
fn dist_info_stem(dir: &str) -> Option<&str> {
    const SUFFIX: &str = ".dist-info";
    let cut = dir.len().checked_sub(SUFFIX.len())?;
    (dir.is_char_boundary(cut) && dir[cut..].eq_ignore_ascii_case(SUFFIX)).then(|| &dir[..cut])
}

/// Picks the wheel's own `METADATA` among the paths of `<dir>.dist-info/METADATA` members;
/// returns its position in `paths`.
pub(crate) fn choose_dist_info(paths: &[&str], wheel: &WheelFilename) -> Option<usize> {
    // `{name}-{version}.dist-info`; the name may hold `-` in old wheels, so try every split
    // whose name part normalizes to the wheel's project. `Some(same version)` on a match.
    let matches = |path: &str| -> Option<bool> {
        let stem = dist_info_stem(path.split_once('/')?.0)?;
        stem.match_indices('-').find_map(|(pos, _)| {
            let name = PackageName::from_str(&stem[..pos]).ok()?;
            (name == wheel.name).then(|| {
                pep440_rs::Version::from_str(&stem[pos + 1..]).is_ok_and(|v| v == wheel.version)
            })
        })
    };
    let by_name: Vec<(usize, bool)> = paths
        .iter()
        .enumerate()
        .filter_map(|(position, path)| Some((position, matches(path)?)))
        .collect();
    match (by_name.as_slice(), paths.len()) {
        ([(position, _)], _) => Some(*position),
        ([], 1) => Some(0),
        ([], _) => None,
        (several, _) => {
            let mut same_version = several.iter().filter(|(_, same)| *same);
            match (same_version.next(), same_version.next()) {
                (Some((position, _)), None) => Some(*position),
                _ => None,
            }
        }
    }
}

/// The metadata files of an sdist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdistMetadata {
    /// `<top>/PKG-INFO`, the sdist's core metadata.
    pub pkg_info: Option<Vec<u8>>,
    /// `<top>/…/*.egg-info/requires.txt` (decoded lossily): the one of the sdist's project
    /// when several exist, then the shallowest. Only when `PKG-INFO` lists no dependencies
    /// (older setuptools wrote them to `requires.txt` alone): otherwise `None`.
    pub requires_txt: Option<String>,
}

/// Reads `PKG-INFO` and `*.egg-info/requires.txt` out of a whole sdist, of any format the
/// index serves (`.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`, `.tar`, `.zip`), stopping at a
/// `PKG-INFO` that lists dependencies. Neither file being present is not an error: both
/// fields are then `None`.
pub fn sdist_metadata(bytes: &[u8], sdist: &SdistFilename) -> Result<SdistMetadata, MetadataError> {
    if let Some(found) = tar_sdist_metadata(bytes, sdist) {
        return found;
    }
    let file = sdist_file_name(sdist);
    let mut finder = SdistFinder::new(&sdist.name);
    read_zip(bytes, &file, &mut finder)?;
    Ok(finder.into_metadata())
}

/// [`sdist_metadata`] of a tar sdist, read from a stream: nothing of it is held but the two
/// files. `None` for a `.zip`, whose directory is at its end. The caller checks the sdist's
/// sha256 (a gzip stream's CRC-32 is not computed: the module `metadata::gzip`).
pub fn tar_sdist_metadata(
    reader: impl Read,
    sdist: &SdistFilename,
) -> Option<Result<SdistMetadata, MetadataError>> {
    let tar: Box<dyn Read + '_> = match sdist.extension {
        // Every caller checks the sdist's sha256, which leaves the CRC-32 nothing to add.
        SdistExtension::TarGz | SdistExtension::Tgz => Box::new(super::gzip::Members::new(
            BufReader::with_capacity(64 << 10, reader),
        )),
        extension => tar_stream(reader, extension)?,
    };
    let file = sdist_file_name(sdist);
    let mut finder = SdistFinder::new(&sdist.name);
    Some(read_tar(tar, &file, &mut finder).map(|()| finder.into_metadata()))
}

impl SdistFinder<'_> {
    /// What was found: `requires.txt` only as the fallback it is.
    fn into_metadata(self) -> SdistMetadata {
        let fallback = !self.is_done();
        SdistMetadata {
            pkg_info: self.pkg_info,
            requires_txt: self
                .requires_txt
                .filter(|_| fallback)
                .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned()),
        }
    }
}

/// The uncompressed tar stream of a tar sdist; `None` for a `.zip`.
pub fn tar_stream<'a>(
    reader: impl Read + 'a,
    extension: SdistExtension,
) -> Option<Box<dyn Read + 'a>> {
    Some(match extension {
        // Multi-member gzip streams are valid gzip, and Python's tarfile reads them.
        SdistExtension::TarGz | SdistExtension::Tgz => {
            Box::new(flate2::read::MultiGzDecoder::new(reader))
        }
        SdistExtension::TarBz2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        SdistExtension::TarXz => Box::new(lzma_rust2::XzReader::new(reader, true)),
        SdistExtension::Tar => Box::new(reader),
        SdistExtension::Zip => return None,
    })
}

/// What the archive walk has found so far.
struct SdistFinder<'a> {
    project: &'a PackageName,
    pkg_info: Option<Vec<u8>>,
    /// The best `requires.txt` so far, with its rank (lower is better).
    requires_txt: Option<(RequiresRank, Vec<u8>)>,
}

/// Orders `requires.txt` candidates: the project's own egg-info first, then the shallowest,
/// then by path for a stable choice.
type RequiresRank = (bool, usize, String);

/// What a member is to the walk.
enum Wanted {
    PkgInfo,
    RequiresTxt(RequiresRank),
}

impl<'a> SdistFinder<'a> {
    fn new(project: &'a PackageName) -> Self {
        Self {
            project,
            pkg_info: None,
            requires_txt: None,
        }
    }

    /// Whether the member at `path` (components, `.` dropped) is worth reading.
    fn wanted(&self, parts: &[&str]) -> Option<Wanted> {
        match parts {
            [_, "PKG-INFO"] if self.pkg_info.is_none() => Some(Wanted::PkgInfo),
            [_, .., egg_info, "requires.txt"] if egg_info.ends_with(".egg-info") => {
                let stem = egg_info.trim_end_matches(".egg-info");
                let name = stem.split('-').next().unwrap_or(stem);
                let own = PackageName::from_str(name).is_ok_and(|name| &name == self.project);
                let rank = (!own, parts.len(), parts.join("/"));
                let better = self
                    .requires_txt
                    .as_ref()
                    .is_none_or(|(best, _)| rank < *best);
                better.then_some(Wanted::RequiresTxt(rank))
            }
            _ => None,
        }
    }

    fn found(&mut self, wanted: Wanted, bytes: Vec<u8>) {
        match wanted {
            Wanted::PkgInfo => self.pkg_info = Some(bytes),
            Wanted::RequiresTxt(rank) => self.requires_txt = Some((rank, bytes)),
        }
    }

    /// Whether the rest of the archive can change nothing: a `PKG-INFO` that lists
    /// dependencies is used whatever `requires.txt` says, so the walk stops there rather than
    /// inflating the rest (salt's sdist is 14.7 MB compressed).
    fn is_done(&self) -> bool {
        self.pkg_info.as_deref().is_some_and(|bytes| {
            super::CoreMetadata::parse(bytes)
                .is_ok_and(|metadata| !metadata.requires_dist.is_empty())
        })
    }
}

/// The normal components of a member path (`./a/b` is `a/b`); `None` for paths that leave
/// the archive (`..`, absolute), which no metadata file has.
fn components(path: &Path) -> Option<Vec<&str>> {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect()
}

fn read_tar(reader: impl Read, file: &str, finder: &mut SdistFinder) -> Result<(), MetadataError> {
    let tar_error = |source| MetadataError::Tar {
        file: file.to_owned(),
        source,
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(tar_error)? {
        let entry = entry.map_err(tar_error)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(tar_error)?.into_owned();
        let Some(wanted) = components(&path).and_then(|parts| finder.wanted(&parts)) else {
            continue;
        };
        let member = path.to_string_lossy().into_owned();
        let bytes = read_limited(entry).map_err(|e| match e {
            ReadLimited::TooLarge => MetadataError::MemberTooLarge {
                file: file.to_owned(),
                member: member.clone(),
                limit: MAX_MEMBER_SIZE,
            },
            ReadLimited::Io(e) => tar_error(e),
        })?;
        finder.found(wanted, bytes);
        if finder.is_done() {
            break;
        }
    }
    Ok(())
}

fn read_zip(bytes: &[u8], file: &str, finder: &mut SdistFinder) -> Result<(), MetadataError> {
    let zip_error = |source| MetadataError::Zip {
        file: file.to_owned(),
        source,
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(zip_error)?;
        if !member.is_file() {
            continue;
        }
        // A name that is not UTF-8 (nor CP437-decodable) is no metadata file.
        let Ok(name) = member.name().map(Cow::into_owned) else {
            continue;
        };
        let Some(wanted) = components(Path::new(&name)).and_then(|parts| finder.wanted(&parts))
        else {
            continue;
        };
        let bytes = read_limited(member).map_err(|e| match e {
            ReadLimited::TooLarge => MetadataError::MemberTooLarge {
                file: file.to_owned(),
                member: name.clone(),
                limit: MAX_MEMBER_SIZE,
            },
            ReadLimited::Io(e) => zip_error(zip::result::ZipError::Io(e)),
        })?;
        finder.found(wanted, bytes);
        if finder.is_done() {
            break;
        }
    }
    Ok(())
}

/// Why [`read_limited`] failed.
enum ReadLimited {
    TooLarge,
    Io(std::io::Error),
}

/// Reads a member whole, up to [`MAX_MEMBER_SIZE`].
fn read_limited(reader: impl Read) -> Result<Vec<u8>, ReadLimited> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_MEMBER_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadLimited::Io)?;
    if bytes.len() as u64 > MAX_MEMBER_SIZE {
        return Err(ReadLimited::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wheels_own_dist_info_is_chosen() {
        let foo = WheelFilename::parse("foo-1.0-py3-none-any.whl").unwrap();
        let dateutil = WheelFilename::parse("python_dateutil-2.9.0-py3-none-any.whl").unwrap();
        let cases: [(&WheelFilename, &[&str], Option<usize>); 8] = [
            (&foo, &["foo-1.0.dist-info/METADATA"], Some(0)),
            // Old wheels keep the project's spelling, and case varies.
            (&foo, &["FOO-1.0.DIST-INFO/METADATA"], Some(0)),
            (
                &dateutil,
                &["python-dateutil-2.9.0.dist-info/METADATA"],
                Some(0),
            ),
            // A vendored package's metadata beside the wheel's own.
            (
                &foo,
                &["bar-2.0.dist-info/METADATA", "foo-1.0.dist-info/METADATA"],
                Some(1),
            ),
            // Two of the project: the version decides.
            (
                &foo,
                &["foo-0.9.dist-info/METADATA", "foo-1.0.dist-info/METADATA"],
                Some(1),
            ),
            // None matches by name, but it is the only one.
            (&foo, &["renamed-1.0.dist-info/METADATA"], Some(0)),
            (
                &foo,
                &["a-1.0.dist-info/METADATA", "b-1.0.dist-info/METADATA"],
                None,
            ),
            (&foo, &[], None),
        ];
        for (wheel, paths, expected) in cases {
            assert_eq!(choose_dist_info(paths, wheel), expected, "{paths:?}");
        }
    }

    #[test]
    fn file_names_are_rebuilt_for_messages() {
        let wheel = WheelFilename::parse("Foo.Bar-1.0-2x-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            wheel_file_name(&wheel),
            "foo_bar-1.0-2x-py2.py3-none-any.whl"
        );
        let Some(crate::filename::DistFilename::Sdist(sdist)) =
            crate::filename::DistFilename::parse(
                "python-glanceclient-4.8.0.tar.gz",
                &PackageName::from_str("python-glanceclient").unwrap(),
            )
        else {
            panic!("an sdist")
        };
        assert_eq!(sdist_file_name(&sdist), "python_glanceclient-4.8.0.tar.gz");
    }
}
