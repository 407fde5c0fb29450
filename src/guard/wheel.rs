//! What a verified wheel holds, for checking what an installer put into an environment
//! ([`super::installed`]): each member's path, where the binary distribution format puts
//! it, and the sha256 the wheel's own `RECORD` gives it; plus the scripts its entry points
//! make an installer write.
//!
//! Only the central directory and three small members (`RECORD`, `WHEEL`,
//! `entry_points.txt`) are read: the wheel's bytes matched the lock, so its `RECORD` is the
//! word of the locked file on every other member. A member `RECORD` gives no sha256 for is
//! hashed from the wheel itself when it is checked.

use std::io::{Read, Seek};
use std::path::Path;

use base64::Engine as _;
use zip::ZipArchive;

use crate::digest::Sha256;
use crate::filename::WheelFilename;
use crate::metadata::archive::{MAX_MEMBER_SIZE, choose_dist_info, is_dist_info_metadata};

/// Where the binary distribution format installs a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The wheel's root, or `.data/purelib`.
    Purelib,
    /// The wheel's root (`Root-Is-Purelib: false`), or `.data/platlib`.
    Platlib,
    /// `.data/scripts`: a `#!python` first line is rewritten to the target's interpreter.
    Scripts,
    /// `.data/data`: the environment's prefix.
    Data,
}

/// One file of a wheel.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its index in the zip.
    pub index: usize,
    /// Where it is installed.
    pub part: Part,
    /// Its path below that part's directory (`/`-separated, every component plain).
    pub path: String,
    /// Its size, as the zip says.
    pub size: u64,
    /// Its sha256 as the wheel's `RECORD` gives it; `None` when `RECORD` has no sha256 for it.
    pub sha256: Option<Sha256>,
}

/// What a verified wheel installs.
#[derive(Debug, Clone)]
pub struct WheelContents {
    /// The wheel's file name.
    pub file: String,
    /// Its `.dist-info` directory (`six-1.16.0.dist-info`), in the root's part.
    pub dist_info: String,
    /// Where its root (and so its `.dist-info`) is installed: `Root-Is-Purelib`.
    pub root: Part,
    /// Every member but its `RECORD`, which an installer rewrites.
    pub members: Vec<Member>,
    /// The names of the scripts its entry points make (`console_scripts`, `gui_scripts`).
    pub entry_scripts: Vec<String>,
}

/// Why a wheel's contents cannot be checked member by member after an install.
#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    /// Not a zip pinguard can read.
    #[error("{file}: {source}")]
    Zip {
        /// The wheel.
        file: String,
        /// Why.
        source: zip::result::ZipError,
    },
    /// No `.dist-info` directory, or no `RECORD` in it.
    #[error("{file}: no `.dist-info/RECORD` to check its installed files by")]
    NoRecord {
        /// The wheel.
        file: String,
    },
    /// A member whose path is not plain components, or goes where pinguard does not check.
    #[error("{file}: member `{member}` {reason}")]
    Member {
        /// The wheel.
        file: String,
        /// The member's path.
        member: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl WheelContents {
    /// Reads the contents of the wheel at `path`, named `file`.
    pub fn read(path: &Path, file: &str) -> Result<Self, WheelError> {
        let reader =
            std::io::BufReader::new(fs_err::File::open(path).map_err(|e| WheelError::Zip {
                file: file.to_owned(),
                source: zip::result::ZipError::Io(e),
            })?);
        Self::from_reader(reader, file)
    }

    /// Reads the contents of the wheel `reader` holds, named `file`.
    pub fn from_reader<R: Read + Seek>(reader: R, file: &str) -> Result<Self, WheelError> {
        let zip_error = |source| WheelError::Zip {
            file: file.to_owned(),
            source,
        };
        let no_record = || WheelError::NoRecord {
            file: file.to_owned(),
        };
        let mut archive = ZipArchive::new(reader).map_err(zip_error)?;
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.name_for_index(i)?.ok().map(|n| n.into_owned()))
            .collect::<Option<_>>()
            .ok_or_else(no_record)?;
        let dist_info = find_dist_info(&names, file).ok_or_else(no_record)?;
        let record_name = format!("{dist_info}/RECORD");
        let record = read_member(&mut archive, &record_name)
            .map_err(zip_error)?
            .ok_or_else(no_record)?;
        let record = String::from_utf8_lossy(&record);
        let digests = parse_record(&record);
        let wheel = read_member(&mut archive, &format!("{dist_info}/WHEEL")).map_err(zip_error)?;
        let root = match wheel.as_deref().map(String::from_utf8_lossy) {
            Some(text) if root_is_purelib(&text) => Part::Purelib,
            _ => Part::Platlib,
        };
        let entry_points = read_member(&mut archive, &format!("{dist_info}/entry_points.txt"))
            .map_err(zip_error)?;
        let stem = dist_info.strip_suffix(".dist-info").unwrap_or(&dist_info);
        let data_dir = format!("{stem}.data/");
        let mut members = Vec::new();
        for (index, name) in names.iter().enumerate() {
            if name.ends_with('/') || *name == record_name {
                continue;
            }
            let member_error = |reason| WheelError::Member {
                file: file.to_owned(),
                member: name.clone(),
                reason,
            };
            check_plain(name).map_err(member_error)?;
            let (part, path) = match name.strip_prefix(&data_dir) {
                Some(rest) => split_data(rest).map_err(member_error)?,
                None => (root, name.clone()),
            };
            let size = archive.by_index_raw(index).map_err(zip_error)?.size();
            members.push(Member {
                index,
                part,
                path,
                size,
                sha256: digests.get(name.as_str()).copied(),
            });
        }
        Ok(Self {
            file: file.to_owned(),
            dist_info,
            root,
            members,
            entry_scripts: entry_points
                .map(|text| entry_scripts(&String::from_utf8_lossy(&text)))
                .unwrap_or_default(),
        })
    }
}

/// The wheel's `.dist-info` directory, chosen as its `METADATA` is
/// ([`crate::metadata::archive::wheel_metadata`]).
fn find_dist_info(names: &[String], file: &str) -> Option<String> {
    let wheel = WheelFilename::parse(file)?;
    let metadata: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| is_dist_info_metadata(name))
        .collect();
    let chosen = choose_dist_info(&metadata, &wheel)?;
    Some(metadata[chosen].split_once('/')?.0.to_owned())
}

/// The member `name`, if the wheel has it, read whole (bounded by [`MAX_MEMBER_SIZE`]).
fn read_member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
) -> zip::result::ZipResult<Option<Vec<u8>>> {
    let Some(index) = archive.index_for_name(name) else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    archive
        .by_index(index)?
        .take(MAX_MEMBER_SIZE)
        .read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Refuses a member path that is not plain `/`-separated components.
fn check_plain(name: &str) -> Result<(), &'static str> {
    let plain = |part: &str| {
        !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', '\0', ':'])
    };
    if name.split('/').all(plain) {
        Ok(())
    } else {
        Err("is not a plain relative path")
    }
}

/// `purelib/six.py` (below `.data/`) → its part and path.
fn split_data(rest: &str) -> Result<(Part, String), &'static str> {
    let (scheme, path) = rest
        .split_once('/')
        .ok_or("is a file directly in `.data`")?;
    let part = match scheme {
        "purelib" => Part::Purelib,
        "platlib" => Part::Platlib,
        "scripts" => Part::Scripts,
        "data" => Part::Data,
        "headers" => return Err("is a header (`.data/headers`), which pinguard does not check"),
        _ => return Err("is in an unknown `.data` directory"),
    };
    Ok((part, path.to_owned()))
}

/// `RECORD`'s sha256 digests by path (CSV: `path,sha256=<urlsafe base64>,size`; a path
/// with a comma or quote is quoted).
fn parse_record(text: &str) -> std::collections::HashMap<&str, Sha256> {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut digests = std::collections::HashMap::new();
    for line in text.lines() {
        let Some((path, rest)) = split_csv_path(line) else {
            continue;
        };
        let Some(encoded) = rest
            .split(',')
            .next()
            .and_then(|h| h.strip_prefix("sha256="))
        else {
            continue;
        };
        let decoded = engine.decode(encoded.trim_end_matches('='));
        if let Ok(raw) = decoded.as_deref().map(<[u8; 32]>::try_from)
            && let Ok(raw) = raw
        {
            digests.insert(path, Sha256::from_raw(raw));
        }
    }
    digests
}

/// The first CSV field of `line` and what follows its comma. A quoted path (rare: a comma
/// or quote in a file name) is taken only when it has no doubled quote inside.
fn split_csv_path(line: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = line.strip_prefix('"') {
        let (path, rest) = quoted.split_once('"')?;
        return Some((path, rest.strip_prefix(',')?));
    }
    line.split_once(',')
}

/// Whether `WHEEL` says `Root-Is-Purelib: true`.
fn root_is_purelib(wheel: &str) -> bool {
    wheel.lines().any(|line| {
        line.split_once(':').is_some_and(|(key, value)| {
            key.trim().eq_ignore_ascii_case("Root-Is-Purelib")
                && value.trim().eq_ignore_ascii_case("true")
        })
    })
}

/// The script names of `entry_points.txt`'s `console_scripts` and `gui_scripts` sections.
fn entry_scripts(text: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut in_scripts = false;
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_scripts = matches!(section.trim(), "console_scripts" | "gui_scripts");
        } else if in_scripts
            && !line.starts_with(['#', ';'])
            && let Some((name, _)) = line.split_once('=')
        {
            scripts.push(name.trim().to_owned());
        }
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_give_digests_by_path() {
        let text = "six.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
                    \"a,b.py\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n\
                    six-1.dist-info/RECORD,,\n\
                    md5.py,md5=1B2M2Y8AsgTpgAmY7PhCfg,0\n";
        let digests = parse_record(text);
        let empty = Sha256::of(b"");
        assert_eq!(digests.get("six.py"), Some(&empty));
        assert_eq!(digests.get("a,b.py"), Some(&empty));
        assert_eq!(digests.len(), 2);
    }

    #[test]
    fn entry_points_name_the_scripts_an_installer_writes() {
        let text = "[console_scripts]\npbr = pbr.cmd:main\n# x = y\n\n[gui_scripts]\n\
                    g=m:f\n[other]\nnot = this\n";
        assert_eq!(entry_scripts(text), ["pbr", "g"]);
    }

    #[test]
    fn data_members_go_to_their_part_and_headers_are_refused() {
        assert_eq!(
            split_data("scripts/run").unwrap(),
            (Part::Scripts, "run".to_owned())
        );
        assert!(split_data("headers/x.h").is_err());
        assert!(check_plain("a/../b").is_err());
        assert!(check_plain("a/b.py").is_ok());
    }
}
