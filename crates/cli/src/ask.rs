//! The terminal: asking before a command holds or spends the signer's money, and printing a
//! record for people (the `--json` form's fields, one per line).

use std::io::{BufRead, IsTerminal, Write};

use crate::error::CliError;

/// Prints a JSON object's fields one per line, strings unquoted.
pub fn print_fields(value: &serde_json::Value) {
	if let serde_json::Value::Object(fields) = value {
		for (key, value) in fields {
			println!(
				"{key:<16} {}",
				value
					.as_str()
					.map(str::to_string)
					.unwrap_or(value.to_string())
			);
		}
	}
}

/// Asks `question` on the terminal (`[y/N]`) unless `yes` (the command's `--yes`). Without a
/// terminal and without `--yes` the command stops with `unattended`, which should say what
/// `--yes` would confirm; a "no" stops it with `declined`. Nothing is sent in either case.
pub fn confirm(
	yes: bool,
	question: &str,
	unattended: String,
	declined: &str,
) -> Result<(), CliError> {
	if yes {
		return Ok(());
	}
	if !std::io::stdin().is_terminal() {
		return Err(CliError::Usage(unattended));
	}
	eprint!("{question} [y/N] ");
	std::io::stderr().flush()?;
	let mut answer = String::new();
	std::io::stdin().lock().read_line(&mut answer)?;
	if matches!(answer.trim(), "y" | "Y" | "yes") {
		Ok(())
	} else {
		Err(CliError::Usage(declined.into()))
	}
}
