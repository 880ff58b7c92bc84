//! Amounts of VRT, always written with their unit: `0.05VRT` or `50000000000planck` (1 VRT =
//! 10^12 planck). A bare number is refused: nobody should wonder whether `5` meant five VRT or
//! five planck.

use verity_primitives::token::{DECIMALS, UNIT};

/// Why an amount was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
	/// No unit.
	#[error("'{0}' has no unit: write it as e.g. 0.05VRT or 50000000000planck")]
	NoUnit(String),
	/// Not a number before the unit.
	#[error("'{0}' is not an amount: write it as e.g. 0.05VRT or 50000000000planck")]
	Malformed(String),
	/// More decimals than a planck.
	#[error("'{0}' is finer than a planck (VRT has {DECIMALS} decimals)")]
	TooPrecise(String),
	/// Larger than any balance.
	#[error("'{0}' is larger than any balance")]
	TooLarge(String),
}

/// Parses `0.05VRT`, `1VRT`, `50000000000planck` (case-insensitive units, no sign, no exponent)
/// into planck.
pub fn parse(text: &str) -> Result<u128, AmountError> {
	let trimmed = text.trim();
	let lower = trimmed.to_ascii_lowercase();
	let (number, planck) = if let Some(number) = lower.strip_suffix("planck") {
		(number.trim(), true)
	} else if let Some(number) = lower.strip_suffix("vrt") {
		(number.trim(), false)
	} else if !trimmed.is_empty()
		&& trimmed
			.chars()
			.all(|c| c.is_ascii_digit() || c == '.' || c == '_')
	{
		return Err(AmountError::NoUnit(text.to_string()));
	} else {
		return Err(AmountError::Malformed(text.to_string()));
	};
	let malformed = || AmountError::Malformed(text.to_string());
	let (whole, fraction) = match number.split_once('.') {
		Some((whole, fraction)) => (whole, fraction),
		None => (number, ""),
	};
	let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
	if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
		return Err(malformed());
	}
	let too_large = || AmountError::TooLarge(text.to_string());
	let whole: u128 = if whole.is_empty() {
		0
	} else {
		whole.parse().map_err(|_| too_large())?
	};
	if planck {
		if !fraction.is_empty() {
			return Err(AmountError::TooPrecise(text.to_string()));
		}
		return Ok(whole);
	}
	if fraction.len() > DECIMALS as usize {
		return Err(AmountError::TooPrecise(text.to_string()));
	}
	let scale = 10u128.pow(DECIMALS as u32 - fraction.len() as u32);
	let fraction: u128 = if fraction.is_empty() {
		0
	} else {
		fraction.parse().map_err(|_| malformed())?
	};
	whole
		.checked_mul(UNIT)
		.and_then(|planck| planck.checked_add(fraction * scale))
		.ok_or_else(too_large)
}

/// Writes `planck` as VRT with its unit and no trailing zeros: `0.05VRT`, `1000VRT`, `0VRT`.
pub fn format(planck: u128) -> String {
	let whole = planck / UNIT;
	let fraction = planck % UNIT;
	if fraction == 0 {
		return format!("{whole}VRT");
	}
	let digits = format!("{fraction:0width$}", width = DECIMALS as usize);
	format!("{whole}.{}VRT", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn amounts_with_a_unit_parse_to_the_planck() {
		assert_eq!(parse("0.05VRT"), Ok(50_000_000_000));
		assert_eq!(parse("1VRT"), Ok(UNIT));
		assert_eq!(parse("1.5 vrt"), Ok(1_500_000_000_000));
		assert_eq!(parse(".5VRT"), Ok(UNIT / 2));
		assert_eq!(parse("0.000000000001VRT"), Ok(1));
		assert_eq!(parse("50000000000planck"), Ok(50_000_000_000));
		assert_eq!(parse("7 Planck"), Ok(7));
	}

	#[test]
	fn a_bare_number_or_a_malformed_amount_is_refused_with_the_fix() {
		assert_eq!(parse("5"), Err(AmountError::NoUnit("5".into())));
		assert_eq!(parse("0.05"), Err(AmountError::NoUnit("0.05".into())));
		assert!(parse("5").unwrap_err().to_string().contains("0.05VRT"));
		for bad in [
			"",
			"VRT",
			"-1VRT",
			"1e3VRT",
			"1.2.3VRT",
			"abc",
			"0x10planck",
			"1,5VRT",
		] {
			assert!(
				matches!(parse(bad), Err(AmountError::Malformed(_))),
				"{bad}: {:?}",
				parse(bad)
			);
		}
		assert_eq!(
			parse("0.0000000000001VRT"),
			Err(AmountError::TooPrecise("0.0000000000001VRT".into()))
		);
		assert_eq!(
			parse("1.5planck"),
			Err(AmountError::TooPrecise("1.5planck".into()))
		);
		assert!(matches!(
			parse("999999999999999999999999999999VRT"),
			Err(AmountError::TooLarge(_))
		));
	}

	#[test]
	fn amounts_are_written_with_their_unit() {
		assert_eq!(format(50_000_000_000), "0.05VRT");
		assert_eq!(format(1_000 * UNIT), "1000VRT");
		assert_eq!(format(0), "0VRT");
		assert_eq!(format(1), "0.000000000001VRT");
		for planck in [1, 999, UNIT, UNIT + 1, 123_456_789_012_345] {
			assert_eq!(parse(&format(planck)), Ok(planck));
		}
	}
}
