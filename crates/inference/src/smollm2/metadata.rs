//! Typed reads of GGUF metadata.

use candle_core::quantized::gguf_file::{Content, Value};

use crate::{Error, Result};

fn value<'a>(content: &'a Content, key: &str) -> Result<&'a Value> {
	content
		.metadata
		.get(key)
		.ok_or_else(|| Error::UnsupportedModel(format!("GGUF metadata `{key}` is missing")))
}

fn wrong_type(key: &str, expected: &str) -> Error {
	Error::UnsupportedModel(format!("GGUF metadata `{key}` is not {expected}"))
}

/// A string value.
pub fn string_value(content: &Content, key: &str) -> Result<String> {
	value(content, key)?
		.to_string()
		.cloned()
		.map_err(|_| wrong_type(key, "a string"))
}

/// An unsigned integer value (any integer width).
pub fn u32_value(content: &Content, key: &str) -> Result<u32> {
	as_u32(value(content, key)?).ok_or_else(|| wrong_type(key, "an unsigned integer"))
}

/// An array of strings.
pub fn string_array(content: &Content, key: &str) -> Result<Vec<String>> {
	let items = value(content, key)?
		.to_vec()
		.map_err(|_| wrong_type(key, "an array"))?;
	items
		.iter()
		.map(|item| {
			item.to_string()
				.cloned()
				.map_err(|_| wrong_type(key, "strings"))
		})
		.collect()
}

/// An array of unsigned integers.
pub fn u32_array(content: &Content, key: &str) -> Result<Vec<u32>> {
	let items = value(content, key)?
		.to_vec()
		.map_err(|_| wrong_type(key, "an array"))?;
	items
		.iter()
		.map(|item| as_u32(item).ok_or_else(|| wrong_type(key, "integers")))
		.collect()
}

fn as_u32(value: &Value) -> Option<u32> {
	match value {
		Value::U8(v) => Some(u32::from(*v)),
		Value::U16(v) => Some(u32::from(*v)),
		Value::U32(v) => Some(*v),
		Value::U64(v) => u32::try_from(*v).ok(),
		Value::I8(v) => u32::try_from(*v).ok(),
		Value::I16(v) => u32::try_from(*v).ok(),
		Value::I32(v) => u32::try_from(*v).ok(),
		Value::I64(v) => u32::try_from(*v).ok(),
		_ => None,
	}
}
