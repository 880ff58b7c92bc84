//! Character classes the tokenizers need, from tables this crate pins rather than from the Rust
//! standard library (whose Unicode tables move with each rustc release).
//!
//! A tokenizer that splits or maps characters by class gives other token ids when the class of a
//! character changes, and under the Exact policy other ids are another output: an honest worker
//! built with a newer rustc would be slashed by jurors built with an older one. So every class
//! that decides a token id comes from a table whose version is fixed by this crate or by the lock
//! file, and the engine profile names it ([`crate::profile`]):
//! - White_Space and the lower-case mapping (MiniLM's BERT normaliser): this module's tables,
//!   generated from Unicode [`TABLES_UNICODE_VERSION`] and committed;
//! - digits, letters and whitespace of SmolLM2's pre-tokenizer (`\p{N}`, `\p{L}`, `\s`):
//!   regex-syntax's tables (Unicode 16.0.0 in the locked 0.8.12), through fancy-regex;
//! - the punctuation, control and non-spacing-mark classes and NFD of MiniLM's tokenizer:
//!   the `unicode_categories` and `unicode-normalization-alignments` crates, locked.

mod lowercase;

/// The Unicode version of this module's tables.
pub const TABLES_UNICODE_VERSION: (u8, u8, u8) = (17, 0, 0);

/// Unicode's White_Space property (PropList.txt): the 25 characters, by code point.
const WHITE_SPACE: [char; 25] = [
	'\u{09}', '\u{0a}', '\u{0b}', '\u{0c}', '\u{0d}', '\u{20}', '\u{85}', '\u{a0}', '\u{1680}',
	'\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}',
	'\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Whether `c` has the White_Space property (as `char::is_whitespace`, from the pinned table).
pub fn is_whitespace(c: char) -> bool {
	WHITE_SPACE.binary_search(&c).is_ok()
}

/// Appends the lower case of `c` (Unicode's full `Lowercase_Mapping`, as `char::to_lowercase`,
/// from the pinned table) to `out`.
pub fn push_lowercase(c: char, out: &mut String) {
	if c == '\u{130}' {
		// LATIN CAPITAL LETTER I WITH DOT ABOVE: the one character whose lower case is two.
		out.push_str("i\u{307}");
		return;
	}
	let code = u32::from(c);
	match lowercase::LOWERCASE.binary_search_by_key(&code, |&(upper, _)| upper) {
		Ok(at) => out.push(char::from_u32(lowercase::LOWERCASE[at].1).unwrap_or(c)),
		Err(_) => out.push(c),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The generated table's source, from this toolchain's standard library.
	fn generated_source() -> String {
		let pairs: Vec<(u32, u32)> = (0..=0x10_FFFFu32)
			.filter_map(char::from_u32)
			.filter_map(|c| {
				let mut lower = c.to_lowercase();
				match (lower.next(), lower.next()) {
					(Some(l), None) if l != c => Some((u32::from(c), u32::from(l))),
					_ => None,
				}
			})
			.collect();
		let (a, b, c) = char::UNICODE_VERSION;
		let mut source = format!(
			"//! Generated from the Unicode {a}.{b}.{c} `Lowercase_Mapping` (the standard library's \
			 `char::to_lowercase`) by\n//! `VERITY_WRITE_UNICODE_TABLES=1 cargo test --release \
			 --workspace --lib unicode`; do not edit.\n\n/// `(character, its one-character lower \
			 case)` for every character whose lower case is one\n/// other character, by code \
			 point. U+0130 (two characters) is handled apart.\n#[rustfmt::skip]\npub(super) const \
			 LOWERCASE: [(u32, u32); {}] = [\n",
			pairs.len()
		);
		for chunk in pairs.chunks(5) {
			let line: Vec<String> = chunk
				.iter()
				.map(|(u, l)| format!("(0x{u:04x}, 0x{l:04x})"))
				.collect();
			source += &format!("\t{},\n", line.join(", "));
		}
		source + "];\n"
	}

	#[test]
	fn unicode_tables_are_the_standard_librarys_of_their_version() {
		let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/unicode/lowercase.rs");
		let (a, b, c) = char::UNICODE_VERSION;
		let toolchain = (a as u8, b as u8, c as u8);
		if std::env::var_os("VERITY_WRITE_UNICODE_TABLES").is_some() {
			std::fs::write(path, generated_source()).expect("write the table");
		}
		if toolchain != TABLES_UNICODE_VERSION {
			// A newer toolchain changes nothing here (the tables are pinned); it only cannot
			// check them against its own.
			eprintln!(
				"this toolchain's Unicode is {toolchain:?}, the tables' {TABLES_UNICODE_VERSION:?}: \
				 not compared"
			);
			return;
		}
		let committed = std::fs::read_to_string(path).expect("the committed table");
		assert!(
			committed == generated_source(),
			"src/unicode/lowercase.rs is not the Unicode {TABLES_UNICODE_VERSION:?} table"
		);
		for code in 0..=0x10_FFFFu32 {
			let Some(c) = char::from_u32(code) else {
				continue;
			};
			assert_eq!(
				is_whitespace(c),
				c.is_whitespace(),
				"White_Space of {code:#x}"
			);
			let mut ours = String::new();
			push_lowercase(c, &mut ours);
			assert_eq!(
				ours,
				c.to_lowercase().collect::<String>(),
				"lower case of {code:#x}"
			);
		}
	}

	#[test]
	fn lowercase_and_whitespace_of_some_characters() {
		let lower = |s: &str| {
			let mut out = String::new();
			s.chars().for_each(|c| push_lowercase(c, &mut out));
			out
		};
		assert_eq!(lower("ÀÉÎ ΣΑΣ İ Ǆ"), "àéî σασ i\u{307} ǆ");
		assert_eq!(lower("abc 123 日本"), "abc 123 日本");
		assert!(is_whitespace('\u{3000}') && is_whitespace('\u{85}') && is_whitespace(' '));
		// U+200B ZERO WIDTH SPACE and U+180E MONGOLIAN VOWEL SEPARATOR are not White_Space.
		assert!(!is_whitespace('\u{200b}') && !is_whitespace('\u{180e}') && !is_whitespace('a'));
	}
}
