//! Cutting a large lock's text into pieces that parse on their own, to read them in parallel.
//!
//! A `[[packages]]` line starts a package table that runs to the next such line, so the text
//! between two of them is a TOML document of whole package tables. The cuts are made only at
//! those lines; whether each cut was at the top level (not inside a multi-line string or
//! array) is left to the parser: a piece that ends inside one does not parse, and the caller
//! then reads the whole document.

use std::collections::HashSet;
use std::ops::Range;

use toml_edit::Table;

/// Locks shorter than this are read whole: threads would cost more than they save.
pub(super) const MIN_LEN: usize = 256 << 10;

/// The line that starts each package table, as pinguard, uv and pip write it.
const HEADER: &str = "[[packages]]";

/// The same after the end of the line before.
const AFTER_NEWLINE: &str = "\n[[packages]]";

/// The head of `text` (before the first package table), then at most `groups` runs of whole
/// package tables, as byte ranges that cover `text`. `None` for a text shorter than
/// `min_len` or with fewer than two package tables.
pub(super) fn split(text: &str, min_len: usize, groups: usize) -> Option<Vec<Range<usize>>> {
    if text.len() < min_len {
        return None;
    }
    let starts: Vec<usize> = header_lines(text).collect();
    if starts.len() < 2 {
        return None;
    }
    let per_group = starts.len().div_ceil(groups.max(1));
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(starts.iter().step_by(per_group).copied())
        .chain(std::iter::once(text.len()))
        .collect();
    Some(bounds.windows(2).map(|w| w[0]..w[1]).collect())
}

/// Where each `[[packages]]` line of `text` starts.
fn header_lines(text: &str) -> impl Iterator<Item = usize> + '_ {
    let first = text.starts_with(HEADER).then_some(0);
    let rest = text.match_indices(AFTER_NEWLINE).map(|(at, _)| at + 1);
    first.into_iter().chain(rest).filter(|&at| {
        let after = &text[at + HEADER.len()..];
        after.starts_with('\n') || after.starts_with("\r\n")
    })
}

/// Whether the pieces' documents join into one without a clash: no `packages` in the head,
/// and no other top-level key in two pieces (a `[tool]` table, say, which the whole
/// document would have to merge or refuse).
pub(super) fn keys_are_disjoint<'a>(
    head: &'a Table,
    groups: impl Iterator<Item = &'a Table>,
) -> bool {
    if head.contains_key("packages") {
        return false;
    }
    let mut seen: HashSet<&str> = head.iter().map(|(key, _)| key).collect();
    for group in groups {
        for (key, _) in group.iter() {
            if key != "packages" && !seen.insert(key) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_only_at_package_header_lines_into_at_most_the_groups_asked() {
        let text = "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n\
                    [[packages]]\nname = \"b\"\nx = \"[[packages]]\"\n[[packages]] # c\n\
                    [[packages]]\r\nname = \"d\"\n";
        let pieces = split(text, 0, 2).unwrap();
        let texts: Vec<&str> = pieces.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(
            texts,
            [
                "lock-version = \"1.0\"\n",
                "[[packages]]\nname = \"a\"\n[[packages]]\nname = \"b\"\n\
                 x = \"[[packages]]\"\n[[packages]] # c\n",
                "[[packages]]\r\nname = \"d\"\n",
            ]
        );
    }

    #[test]
    fn a_short_text_or_a_single_package_is_not_cut() {
        let two = "[[packages]]\nname = \"a\"\n[[packages]]\nname = \"b\"\n";
        assert_eq!(split(two, two.len() + 1, 8), None);
        assert_eq!(split("[[packages]]\nname = \"a\"\n", 0, 8), None);
        let pieces = split(two, 0, 8).unwrap();
        assert_eq!(pieces, [0..0, 0..24, 24..two.len()]);
    }
}
