//! Hashing of model files and hex formatting of hashes.

use std::path::Path;

use verity_primitives::Hash;

use crate::{Error, Result};

/// A file read into memory with its BLAKE2-256 (for [`read_verified`], the hash asked for). The
/// bytes that were hashed are the bytes the model is built from: nothing is read from the disk a
/// second time.
#[derive(Debug)]
pub struct VerifiedFile {
	/// The file's contents.
	pub bytes: Vec<u8>,
	/// BLAKE2-256 of `bytes`.
	pub hash: Hash,
}

/// BLAKE2-256 of `bytes` (the chain's hash function).
pub fn blake2_256(bytes: &[u8]) -> Hash {
	verity_primitives::blake2_256(bytes)
}

/// Reads `path` and checks that its BLAKE2-256 is `expected`; a different file is refused with
/// [`Error::HashMismatch`], a missing one with [`Error::ModelFileMissing`].
pub fn read_verified(path: &Path, expected: &Hash) -> Result<VerifiedFile> {
	let file = read_hashed(path)?;
	if &file.hash != expected {
		return Err(Error::HashMismatch {
			path: path.to_path_buf(),
			expected: to_hex(expected.as_bytes()),
			actual: to_hex(file.hash.as_bytes()),
		});
	}
	Ok(file)
}

/// Reads `path` and hashes it, whatever its hash: for files no one has pinned yet (a model being
/// proposed). A missing file is refused with [`Error::ModelFileMissing`].
pub fn read_hashed(path: &Path) -> Result<VerifiedFile> {
	let bytes = std::fs::read(path).map_err(|source| {
		if source.kind() == std::io::ErrorKind::NotFound {
			Error::ModelFileMissing {
				path: path.to_path_buf(),
			}
		} else {
			Error::Io {
				path: path.to_path_buf(),
				source,
			}
		}
	})?;
	let hash = blake2_256(&bytes);
	Ok(VerifiedFile { bytes, hash })
}

/// Lower-case hex of `bytes`, without a prefix.
pub fn to_hex(bytes: &[u8]) -> String {
	const DIGITS: &[u8; 16] = b"0123456789abcdef";
	let mut hex = String::with_capacity(bytes.len() * 2);
	for byte in bytes {
		hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
		hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
	}
	hex
}

/// The 32 bytes of a hash from 64 hex digits, at compile time (a malformed constant does not
/// compile: the panics below run in const evaluation only).
pub const fn hash_bytes_from_hex(hex: &str) -> [u8; 32] {
	let hex = hex.as_bytes();
	assert!(hex.len() == 64, "a BLAKE2-256 hash is 64 hex digits");
	let mut bytes = [0u8; 32];
	let mut i = 0;
	while i < 32 {
		bytes[i] = (hex_digit(hex[2 * i]) << 4) | hex_digit(hex[2 * i + 1]);
		i += 1;
	}
	bytes
}

const fn hex_digit(digit: u8) -> u8 {
	match digit {
		b'0'..=b'9' => digit - b'0',
		b'a'..=b'f' => digit - b'a' + 10,
		b'A'..=b'F' => digit - b'A' + 10,
		_ => panic!("not a hex digit"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hex_round_trips() {
		let hash = blake2_256(b"verity");
		assert_eq!(
			Hash::from(hash_bytes_from_hex(&to_hex(hash.as_bytes()))),
			hash
		);
		assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
	}

	#[test]
	fn blake2_256_matches_the_reference_vector() {
		// BLAKE2b-256 of the empty input (RFC 7693 parameters, 32-byte digest).
		assert_eq!(
			to_hex(blake2_256(b"").as_bytes()),
			"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
		);
	}

	#[test]
	fn verified_read_refuses_a_changed_file() {
		let dir = std::env::temp_dir().join(format!("verity-digest-{}", std::process::id()));
		std::fs::create_dir_all(&dir).expect("temp dir");
		let path = dir.join("weights.bin");
		std::fs::write(&path, b"weights").expect("write");
		let good = blake2_256(b"weights");
		assert_eq!(
			read_verified(&path, &good).expect("verifies").bytes,
			b"weights"
		);
		std::fs::write(&path, b"weightz").expect("write");
		let error = read_verified(&path, &good).expect_err("must be refused");
		let message = error.to_string();
		assert!(matches!(error, Error::HashMismatch { .. }));
		assert!(message.contains("weights.bin") && message.contains(&to_hex(good.as_bytes())));
		let missing = read_verified(&dir.join("absent.bin"), &good).expect_err("missing");
		assert!(matches!(missing, Error::ModelFileMissing { .. }));
		std::fs::remove_dir_all(&dir).expect("clean up");
	}
}
