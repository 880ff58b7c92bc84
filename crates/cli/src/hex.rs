//! Hex as the CLI reads and writes it: `0x` and lower-case digits.

use verity_inference::digest::to_hex;
use verity_primitives::Hash;

/// `0x` and the hash's 64 hex digits.
pub fn hash(hash: &Hash) -> String {
	format!("0x{}", to_hex(hash.as_bytes()))
}

/// The bytes of `text`, hex digits with or without `0x`; `None` if malformed.
pub fn decode(text: &str) -> Option<Vec<u8>> {
	let digits = text.strip_prefix("0x").unwrap_or(text);
	if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
		return None;
	}
	(0..digits.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
		.collect()
}

/// 32 bytes written as `0x` and 64 hex digits (a key, a salt, a hash); `None` otherwise.
pub fn decode32(text: &str) -> Option<[u8; 32]> {
	if !text.starts_with("0x") {
		return None;
	}
	decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hex_round_trips_and_malformed_text_is_refused() {
		let bytes = [0xab; 32];
		let text = hash(&Hash::from(bytes));
		assert_eq!(text, format!("0x{}", "ab".repeat(32)));
		assert_eq!(decode32(&text), Some(bytes));
		assert_eq!(decode("0x0aff"), Some(vec![0x0a, 0xff]));
		assert_eq!(decode("0aff"), Some(vec![0x0a, 0xff]), "0x is optional");
		assert_eq!(decode("0x0af"), None, "odd length");
		assert_eq!(decode("0xzz"), None, "not hex");
		assert_eq!(decode("0xéé"), None, "not ASCII");
		assert_eq!(decode("+a+b"), None, "no signs");
		assert_eq!(decode32(&"ab".repeat(32)), None, "a key needs its 0x");
		assert_eq!(decode32("0xabcd"), None, "too short");
	}
}
