//! Reading SmolLM2's weights and hyper-parameters out of the GGUF.

use candle_core::quantized::{gguf_file::Content, GgmlDType};

use super::{
	super::{
		kernels::{QMatrix, WeightFormat},
		numerics::rope_inverse_frequencies,
	},
	Config, Layer, Llama,
};
use crate::{smollm2::kernels::Kernel, Error, Result};

fn tensor_bytes<'a>(
	content: &Content,
	bytes: &'a [u8],
	name: &str,
) -> Result<(&'a [u8], GgmlDType, Vec<usize>)> {
	let info = content
		.tensor_infos
		.get(name)
		.ok_or_else(|| Error::UnsupportedModel(format!("no tensor `{name}`")))?;
	let dims = info.shape.dims().to_vec();
	let elements: usize = dims.iter().product();
	let dtype = info.ggml_dtype;
	let size = elements / dtype.block_size() * dtype.type_size();
	let start = usize::try_from(content.tensor_data_offset + info.offset)
		.map_err(|_| Error::UnsupportedModel(format!("tensor `{name}` offset")))?;
	let data = bytes.get(start..start + size).ok_or_else(|| {
		Error::UnsupportedModel(format!("tensor `{name}` past the end of the file"))
	})?;
	Ok((data, dtype, dims))
}

fn weight_format(name: &str, dtype: GgmlDType) -> Result<WeightFormat> {
	match dtype {
		GgmlDType::Q4_1 => Ok(WeightFormat::Q4_1),
		GgmlDType::Q8_0 => Ok(WeightFormat::Q8_0),
		other => Err(Error::UnsupportedModel(format!(
			"tensor `{name}` is {other:?} (the engine runs Q4_1 and Q8_0)"
		))),
	}
}

/// Rows stacked from several tensors of one format and width.
fn stacked(content: &Content, bytes: &[u8], names: &[String], k: usize) -> Result<QMatrix> {
	let mut data = Vec::new();
	let mut rows = 0;
	let mut format = None;
	for name in names {
		let (raw, dtype, dims) = tensor_bytes(content, bytes, name)?;
		let this = weight_format(name, dtype)?;
		if format.is_some_and(|f| f != this) || dims.len() != 2 || dims[1] != k {
			return Err(Error::UnsupportedModel(format!(
				"tensor `{name}` of shape {dims:?} and type {dtype:?}"
			)));
		}
		format = Some(this);
		rows += dims[0];
		data.extend_from_slice(raw);
	}
	let format = format.ok_or_else(|| Error::UnsupportedModel("no tensors".into()))?;
	QMatrix::from_gguf_blocks(format, rows, k, &data)
}

fn f32_vector(content: &Content, bytes: &[u8], name: &str, len: usize) -> Result<Vec<f32>> {
	let (raw, dtype, dims) = tensor_bytes(content, bytes, name)?;
	if dtype != GgmlDType::F32 || dims != [len] {
		return Err(Error::UnsupportedModel(format!(
			"tensor `{name}` of shape {dims:?} and type {dtype:?}"
		)));
	}
	Ok(raw
		.chunks_exact(4)
		.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
		.collect())
}

fn metadata_usize(content: &Content, key: &str) -> Result<usize> {
	let value = content
		.metadata
		.get(key)
		.ok_or_else(|| Error::UnsupportedModel(format!("no metadata `{key}`")))?;
	Ok(value.to_u32()? as usize)
}

fn metadata_f32(content: &Content, key: &str) -> Result<f32> {
	let value = content
		.metadata
		.get(key)
		.ok_or_else(|| Error::UnsupportedModel(format!("no metadata `{key}`")))?;
	Ok(value.to_f32()?)
}

impl Llama {
	/// Builds the model from a GGUF's metadata and the file's bytes.
	pub fn from_gguf(content: &Content, bytes: &[u8]) -> Result<Self> {
		let dim = metadata_usize(content, "llama.embedding_length")?;
		let heads = metadata_usize(content, "llama.attention.head_count")?;
		let kv_heads = metadata_usize(content, "llama.attention.head_count_kv")?;
		if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
			return Err(Error::UnsupportedModel(format!(
				"{heads} heads, {kv_heads} kv heads, width {dim}"
			)));
		}
		let head_dim = dim / heads;
		let rope_dim = metadata_usize(content, "llama.rope.dimension_count").unwrap_or(head_dim);
		if rope_dim != head_dim || head_dim % 2 != 0 {
			return Err(Error::UnsupportedModel(format!(
				"rope over {rope_dim} of {head_dim} dimensions"
			)));
		}
		let (embedding_raw, embedding_type, embedding_dims) =
			tensor_bytes(content, bytes, "token_embd.weight")?;
		if embedding_dims.len() != 2 || embedding_dims[1] != dim {
			return Err(Error::UnsupportedModel(format!(
				"token embedding of shape {embedding_dims:?}"
			)));
		}
		let vocab = embedding_dims[0];
		let config = Config {
			layers: metadata_usize(content, "llama.block_count")?,
			dim,
			heads,
			kv_heads,
			head_dim,
			ff: tensor_bytes(content, bytes, "blk.0.ffn_gate.weight")?.2[0],
			vocab,
			eps: metadata_f32(content, "llama.attention.layer_norm_rms_epsilon")?,
			rope_base: metadata_f32(content, "llama.rope.freq_base").unwrap_or(10_000.0),
		};
		let embedding = QMatrix::from_gguf_blocks(
			weight_format("token_embd.weight", embedding_type)?,
			vocab,
			dim,
			embedding_raw,
		)?;
		let output = if content.tensor_infos.contains_key("output.weight") {
			Some(stacked(
				content,
				bytes,
				&["output.weight".to_string()],
				dim,
			)?)
		} else {
			None
		};
		let mut layers = Vec::with_capacity(config.layers);
		for l in 0..config.layers {
			let name = |t: &str| format!("blk.{l}.{t}.weight");
			layers.push(Layer {
				attn_norm: f32_vector(content, bytes, &name("attn_norm"), dim)?,
				qkv: stacked(
					content,
					bytes,
					&[name("attn_q"), name("attn_k"), name("attn_v")],
					dim,
				)?,
				wo: stacked(content, bytes, &[name("attn_output")], dim)?,
				ffn_norm: f32_vector(content, bytes, &name("ffn_norm"), dim)?,
				gate_up: stacked(content, bytes, &[name("ffn_gate"), name("ffn_up")], dim)?,
				down: stacked(content, bytes, &[name("ffn_down")], config.ff)?,
			});
			let layer = layers
				.last()
				.ok_or_else(|| Error::UnsupportedModel("layers".into()))?;
			if layer.qkv.n() != dim + 2 * kv_heads * head_dim
				|| layer.wo.n() != dim
				|| layer.gate_up.n() != 2 * config.ff
				|| layer.down.n() != dim
			{
				return Err(Error::UnsupportedModel(format!(
					"layer {l}'s matrix shapes"
				)));
			}
		}
		let inv_freq = rope_inverse_frequencies(config.rope_base, head_dim);
		Ok(Self {
			output_norm: f32_vector(content, bytes, "output_norm.weight", dim)?,
			config,
			embedding,
			output,
			layers,
			inv_freq,
			kernel: Kernel::detect(),
			threads: usize::MAX,
		})
	}
}
