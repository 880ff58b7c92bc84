//! SmolLM2-Instruct's chat template, exactly as the GGUF's `tokenizer.chat_template` says.
//!
//! The template (Jinja) in the file:
//! ```text
//! {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
//! {{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}
//! {% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
//! {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
//! ```
//! (shown wrapped; [`SMOLLM2_CHAT_TEMPLATE`] is the exact text). A model whose template differs
//! is refused at load time rather than prompted with a template it was not trained on.

/// The exact `tokenizer.chat_template` this module implements (368 bytes; the Jinja string
/// literals hold real line feeds, written `\n` here).
pub const SMOLLM2_CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// The system prompt the template adds when the conversation does not start with one.
pub const DEFAULT_SYSTEM_PROMPT: &str =
	"You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// One message of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatMessage<'a> {
	/// `system`, `user` or `assistant`.
	pub role: &'a str,
	/// The text.
	pub content: &'a str,
}

/// Renders `messages` with the template; `add_generation_prompt` opens the assistant's turn.
pub fn render(messages: &[ChatMessage<'_>], add_generation_prompt: bool) -> String {
	let mut out = String::new();
	for (index, message) in messages.iter().enumerate() {
		if index == 0 && message.role != "system" {
			out.push_str("<|im_start|>system\n");
			out.push_str(DEFAULT_SYSTEM_PROMPT);
			out.push_str("<|im_end|>\n");
		}
		out.push_str("<|im_start|>");
		out.push_str(message.role);
		out.push('\n');
		out.push_str(message.content);
		out.push_str("<|im_end|>\n");
	}
	if add_generation_prompt {
		out.push_str("<|im_start|>assistant\n");
	}
	out
}

/// The prompt of a generation job: one user message and the assistant's turn opened.
pub fn render_user_prompt(prompt: &str) -> String {
	render(
		&[ChatMessage {
			role: "user",
			content: prompt,
		}],
		true,
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_template_text_is_the_one_in_the_gguf() {
		// Length and line feeds as read from SmolLM2-135M-Instruct.Q4_1.gguf with gguf-py.
		assert_eq!(SMOLLM2_CHAT_TEMPLATE.len(), 368);
		assert_eq!(SMOLLM2_CHAT_TEMPLATE.matches('\n').count(), 5);
		assert!(!SMOLLM2_CHAT_TEMPLATE.contains('\\'));
	}

	#[test]
	fn a_user_prompt_gets_the_default_system_prompt() {
		assert_eq!(
			render_user_prompt("Hi"),
			"<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
			 Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
		);
	}

	#[test]
	fn an_explicit_system_prompt_replaces_the_default() {
		let messages = [
			ChatMessage {
				role: "system",
				content: "Be brief.",
			},
			ChatMessage {
				role: "user",
				content: "Hi",
			},
		];
		assert_eq!(
			render(&messages, false),
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
		);
	}

	#[test]
	fn only_the_first_message_triggers_the_default() {
		let messages = [
			ChatMessage {
				role: "user",
				content: "a",
			},
			ChatMessage {
				role: "assistant",
				content: "b",
			},
			ChatMessage {
				role: "user",
				content: "c",
			},
		];
		let rendered = render(&messages, true);
		assert_eq!(rendered.matches("<|im_start|>system").count(), 1);
		assert!(rendered.ends_with("<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n"));
	}

	#[test]
	fn an_empty_conversation_renders_only_the_generation_prompt() {
		assert_eq!(render(&[], true), "<|im_start|>assistant\n");
		assert_eq!(render(&[], false), "");
	}
}
