//! Characters that an origin applying Unicode compatibility normalisation
//! (NFKC, as some frameworks and databases do to ids) would read as path
//! syntax: `‥` becomes `..`, `／` becomes `/`, `？` becomes `?`.
//!
//! A percent-encoded id holding one is refused, since the edge decides on
//! one path and the origin could act on another. Only the characters whose
//! NFKC form contains `.`, `/`, `\`, `?`, `#`, `%` or `;` matter, and they are
//! few, so they are listed here rather than pulling Unicode's normalisation
//! tables into the Worker; a test derives the list from the
//! `unicode-normalization` crate and fails if they ever differ.

/// Every character outside ASCII whose NFKC form contains `.`, `/`, `\`,
/// `?`, `#`, `%` or `;`, in code point order.
const PATH_SYNTAX_LOOKALIKES: &[char] = &[
    '\u{37e}', '\u{2024}', '\u{2025}', '\u{2026}', '\u{2047}', '\u{2048}', '\u{2049}', '\u{2100}', '\u{2101}', '\u{2105}',
    '\u{2106}', '\u{2488}', '\u{2489}', '\u{248a}', '\u{248b}', '\u{248c}', '\u{248d}', '\u{248e}', '\u{248f}', '\u{2490}',
    '\u{2491}', '\u{2492}', '\u{2493}', '\u{2494}', '\u{2495}', '\u{2496}', '\u{2497}', '\u{2498}', '\u{2499}', '\u{249a}',
    '\u{249b}', '\u{33c2}', '\u{33c7}', '\u{33d8}', '\u{fe14}', '\u{fe16}', '\u{fe19}', '\u{fe30}', '\u{fe52}', '\u{fe54}',
    '\u{fe56}', '\u{fe5f}', '\u{fe68}', '\u{fe6a}', '\u{ff03}', '\u{ff05}', '\u{ff0e}', '\u{ff0f}', '\u{ff1b}', '\u{ff1f}',
    '\u{ff3c}', '\u{1f100}',
];

/// Whether `c` reads as path syntax once an origin applies NFKC.
///
/// ```
/// use provgate::core::compat::reads_as_path_syntax;
/// assert!(reads_as_path_syntax('\u{2025}') && reads_as_path_syntax('\u{ff0f}'));
/// assert!(!reads_as_path_syntax('é') && !reads_as_path_syntax('/'));
/// ```
pub fn reads_as_path_syntax(c: char) -> bool {
    !c.is_ascii() && PATH_SYNTAX_LOOKALIKES.binary_search(&c).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_list_is_exactly_what_nfkc_says() {
        let syntax = ['.', '/', '\\', '?', '#', '%', ';'];
        let derived: Vec<char> = (0x80..=0x10_FFFF)
            .filter_map(char::from_u32)
            .filter(|c| std::iter::once(*c).nfkc().any(|n| syntax.contains(&n)))
            .collect();
        assert_eq!(PATH_SYNTAX_LOOKALIKES, derived.as_slice(), "update the list from this test's output");
        assert!(PATH_SYNTAX_LOOKALIKES.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
    }

    /// ASCII never comes out of composing non-ASCII characters, so looking at
    /// each character alone is enough: a string's NFKC form has path syntax
    /// only where one of its own characters does.
    #[test]
    fn strings_are_covered_character_by_character() {
        for text in ["\u{2025}\u{ff0f}", "a\u{301}\u{ff0e}", "\u{ff0e}\u{ff0e}", "caf\u{e9}", "\u{2460}\u{2461}", "x\u{338}"] {
            let nfkc: String = text.nfkc().collect();
            let has_syntax = nfkc.chars().any(|c| ['.', '/', '\\', '?', '#', '%', ';'].contains(&c));
            assert_eq!(has_syntax, text.chars().any(reads_as_path_syntax), "{text:?} → {nfkc:?}");
        }
    }
}
