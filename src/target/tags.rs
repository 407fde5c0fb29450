//! Compatibility tags (PEP 425, the platform compatibility tags spec): the ordered
//! `python-abi-platform` triples a target installs, and their generation for CPython.
//!
//! The order is preference: a wheel whose best tag comes earlier is the better file, as pip
//! ranks them (`pip._internal.models.wheel.Wheel.support_index_min`).

use std::collections::HashMap;
use std::fmt;

/// One `python-abi-platform` triple, lowercased as `packaging.tags.Tag` keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The Python tag (`cp312`, `py3`).
    pub python: String,
    /// The ABI tag (`cp312`, `abi3`, `none`).
    pub abi: String,
    /// The platform tag (`manylinux_2_17_x86_64`, `any`).
    pub platform: String,
}

impl Tag {
    /// A tag from its three parts, lowercased.
    pub fn new(python: &str, abi: &str, platform: &str) -> Self {
        Self {
            python: python.to_ascii_lowercase(),
            abi: abi.to_ascii_lowercase(),
            platform: platform.to_ascii_lowercase(),
        }
    }

    /// Parses `python-abi-platform`; `None` unless there are exactly three non-empty parts.
    pub fn parse(tag: &str) -> Option<Self> {
        let mut parts = tag.split('-');
        let (python, abi, platform) = (parts.next()?, parts.next()?, parts.next()?);
        let non_empty = !python.is_empty() && !abi.is_empty() && !platform.is_empty();
        (parts.next().is_none() && non_empty).then(|| Self::new(python, abi, platform))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// The tags a target installs, best first, with constant-time lookup of a tag's rank.
#[derive(Clone, Default)]
pub struct Tags {
    ordered: Vec<Tag>,
    /// python → abi → platform → rank (index in `ordered`).
    ranks: HashMap<String, HashMap<String, HashMap<String, usize>>>,
}

impl Tags {
    /// Tags in preference order. A repeated tag keeps its first (best) rank, as
    /// `packaging.tags.create_compatible_tags_selector` does.
    pub fn new(tags: impl IntoIterator<Item = Tag>) -> Self {
        let mut result = Self::default();
        for tag in tags {
            let platforms = result
                .ranks
                .entry(tag.python.clone())
                .or_default()
                .entry(tag.abi.clone())
                .or_default();
            if !platforms.contains_key(&tag.platform) {
                platforms.insert(tag.platform.clone(), result.ordered.len());
                result.ordered.push(tag);
            }
        }
        result
    }

    /// The rank of a tag: its index in preference order (0 is best); `None` when the target
    /// does not install it. Case does not matter, as tags are case-insensitive.
    pub fn rank(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        let abis = get_ignore_case(&self.ranks, python)?;
        let platforms = get_ignore_case(abis, abi)?;
        get_ignore_case(platforms, platform).copied()
    }

    /// The tags, best first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Tag> {
        self.ordered.iter()
    }

    /// How many tags there are.
    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

/// `map[key]` with `key` lowercased, allocating only when it has an uppercase letter.
fn get_ignore_case<'a, V>(map: &'a HashMap<String, V>, key: &str) -> Option<&'a V> {
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        map.get(&key.to_ascii_lowercase())
    } else {
        map.get(key)
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.ordered.iter().map(ToString::to_string))
            .finish()
    }
}

/// The tags of CPython `major.minor` on `platforms` (best first), in the order of
/// `packaging.tags.sys_tags()` for a CPython interpreter: `cpython_tags` then
/// `compatible_tags` with the `cpXY-none-any` tag:
///
/// 1. `cpXY-cpXY-P` for each platform P (the ABI is `cpXYm` before 3.8, when pymalloc builds
///    had their own ABI flag);
/// 2. `cpXY-abi3-P`, then `cpXY-none-P`;
/// 3. `cpXW-abi3-P` for W from Y-1 down to 2 (the stable ABI began with 3.2);
/// 4. `pyXY-none-P`, `pyX-none-P`, then `pyXW-none-P` for W from Y-1 down to 0;
/// 5. `cpXY-none-any`, then the same `py*` sequence with `none-any`.
///
/// Within each step platforms keep their order. Debug and free-threaded builds are not
/// described (pinguard builds targets for the default CPython build).
pub(crate) fn cpython(major: u64, minor: u64, platforms: &[String]) -> Tags {
    let cp = |minor: u64| format!("cp{major}{minor}");
    let abi = if (major, minor) < (3, 8) {
        format!("{}m", cp(minor))
    } else {
        cp(minor)
    };
    let mut tags = Vec::new();
    let mut on_every_platform = |python: &str, abi: &str| {
        for platform in platforms {
            tags.push(Tag::new(python, abi, platform));
        }
    };
    on_every_platform(&cp(minor), &abi);
    on_every_platform(&cp(minor), "abi3");
    on_every_platform(&cp(minor), "none");
    for older in (2..minor).rev() {
        on_every_platform(&cp(older), "abi3");
    }
    let py_versions: Vec<String> = std::iter::once(format!("py{major}{minor}"))
        .chain(std::iter::once(format!("py{major}")))
        .chain((0..minor).rev().map(|older| format!("py{major}{older}")))
        .collect();
    for python in &py_versions {
        on_every_platform(python, "none");
    }
    tags.push(Tag::new(&cp(minor), "none", "any"));
    for python in &py_versions {
        tags.push(Tag::new(python, "none", "any"));
    }
    Tags::new(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let tag = Tag::parse("CP312-abi3-Manylinux_2_17_x86_64").unwrap();
        assert_eq!(tag.to_string(), "cp312-abi3-manylinux_2_17_x86_64");
        for bad in ["py3-none", "py3-none-any-x", "py3--any", ""] {
            assert_eq!(Tag::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_repeated_tag_keeps_its_first_rank() {
        let tags = Tags::new(
            ["py3-none-any", "py2-none-any", "py3-none-any"].map(|t| Tag::parse(t).unwrap()),
        );
        assert_eq!(tags.len(), 2);
        assert_eq!(tags.rank("py3", "none", "any"), Some(0));
        assert_eq!(tags.rank("PY2", "None", "ANY"), Some(1));
        assert_eq!(tags.rank("py4", "none", "any"), None);
    }

    #[test]
    fn pure_target_order() {
        // With no platform besides `any`, the order is exactly packaging's tail.
        let tags = cpython(3, 2, &[]);
        let listed: Vec<String> = tags.iter().map(ToString::to_string).collect();
        assert_eq!(
            listed,
            [
                "cp32-none-any",
                "py32-none-any",
                "py3-none-any",
                "py31-none-any",
                "py30-none-any"
            ]
        );
    }

    #[test]
    fn python_37_has_the_pymalloc_abi() {
        let tags = cpython(3, 7, &["win_amd64".to_owned()]);
        assert_eq!(
            tags.iter().next().unwrap().to_string(),
            "cp37-cp37m-win_amd64"
        );
        assert_eq!(tags.rank("cp37", "cp37", "win_amd64"), None);
    }
}
