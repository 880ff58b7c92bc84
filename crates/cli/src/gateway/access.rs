//! Who may use the gateway and how much: API keys (kept as hashes), each mapped to a chain
//! account the operator funds, a rate limit per key, and a spending cap per account that
//! survives a restart.
//!
//! The keys file (`--keys FILE`, JSON):
//! ```json
//! {
//!   "accounts": [{ "name": "app", "suri_file": "/etc/verity/app.secret", "spend_cap": "10VRT" }],
//!   "keys": [{ "name": "web", "key_hash": "0x…", "account": "app", "requests_per_minute": 30 }]
//! }
//! ```
//! `key_hash` is the BLAKE2-256 of the API key (`verity gateway --hash-key` prints it), so the
//! file holds no key a reader could use, and a key is never logged: requests are logged by the
//! key's name. Without `--keys`, one key (`$VERITY_GATEWAY_KEY`) maps to the signer of
//! `--suri`, `--suri-file` or `$VERITY_SURI`, capped by `--spend-cap`.

use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	sync::Mutex,
	time::Instant,
};

use serde_json::Value;
use subxt_signer::sr25519::Keypair;
use verity_primitives::{AccountId, Balance};

use crate::{amount, chain::ChainArgs, error::CliError, hex};

/// One chain account the gateway signs jobs with.
pub struct Account {
	/// Its name in the keys file (`default` without one).
	pub name: String,
	/// Its key pair.
	pub signer: Keypair,
	/// Its address.
	pub id: AccountId,
	/// The most the gateway spends from it, over its whole life (fees and transaction fees).
	pub spend_cap: Balance,
}

/// One API key.
pub struct Key {
	/// Its name, for the log.
	pub name: String,
	/// BLAKE2-256 of the key.
	hash: [u8; 32],
	/// The index of its account in [`Access::accounts`].
	pub account: usize,
	/// Its rate limit.
	bucket: Mutex<Bucket>,
}

/// The keys and accounts, and the spending ledger.
pub struct Access {
	/// The accounts, in the order of the keys file.
	pub accounts: Vec<Account>,
	keys: Vec<Key>,
	ledger: Ledger,
	/// The rate of requests with a missing or unknown key, all together: guessing keys is
	/// slow, and a guesser's requests never use a real key's limit.
	unknown: Mutex<Bucket>,
}

/// Requests with an unknown key, per minute, over all clients.
const UNKNOWN_PER_MINUTE: u32 = 30;

/// The BLAKE2-256 of an API key, as the keys file holds it.
pub fn key_hash(key: &str) -> [u8; 32] {
	verity_primitives::blake2_256(key.as_bytes()).0
}

/// A key too short to resist guessing is refused when the gateway starts.
const MIN_KEY_LEN: usize = 20;

/// Why a request was not let through.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
	/// No `Authorization: Bearer …`, or a key the gateway does not know.
	Unknown,
	/// The key's rate limit: retry after this many seconds.
	RateLimited(u64),
}

impl Access {
	/// The access of `verity gateway`: from `keys_file`, or one key from `$VERITY_GATEWAY_KEY`
	/// mapped to the chain arguments' signer with `spend_cap` and `requests_per_minute`.
	pub fn load(
		keys_file: Option<&Path>,
		chain: &ChainArgs,
		spend_cap: Option<&str>,
		requests_per_minute: u32,
		state_dir: PathBuf,
	) -> Result<Self, CliError> {
		let ledger = Ledger::open(state_dir.join("spent.json"))?;
		let Some(path) = keys_file else {
			let key = std::env::var("VERITY_GATEWAY_KEY").map_err(|_| {
				CliError::Usage(
					"the gateway needs an API key: put one in $VERITY_GATEWAY_KEY (never on the \
					 command line), or give --keys FILE"
						.into(),
				)
			})?;
			check_key_strength(key.trim())?;
			let spend_cap = spend_cap.ok_or_else(|| {
				CliError::Usage(
					"--spend-cap AMOUNT is needed without --keys: the most the gateway may spend \
					 from the signer's account (e.g. 10VRT)"
						.into(),
				)
			})?;
			let signer = chain.signer()?;
			let account = Account {
				name: "default".into(),
				id: AccountId::new(signer.public_key().0),
				signer,
				spend_cap: amount::parse(spend_cap)?,
			};
			return Ok(Self {
				accounts: vec![account],
				keys: vec![Key::new(
					"default".into(),
					key_hash(key.trim()),
					0,
					requests_per_minute,
				)?],
				ledger,
				unknown: Mutex::new(Bucket::new(UNKNOWN_PER_MINUTE, Instant::now())),
			});
		};
		if spend_cap.is_some() {
			return Err(CliError::Usage(
				"--spend-cap is for the one account without --keys; with --keys each account \
				 has its spend_cap in the file"
					.into(),
			));
		}
		let text = std::fs::read_to_string(path)
			.map_err(|e| CliError::Usage(format!("cannot read --keys {}: {e}", path.display())))?;
		let (accounts, keys) = parse_keys_file(&text, path)?;
		Ok(Self {
			accounts,
			keys,
			ledger,
			unknown: Mutex::new(Bucket::new(UNKNOWN_PER_MINUTE, Instant::now())),
		})
	}

	/// The key a request's `Authorization` header names, after its rate limit.
	pub fn admit(&self, authorization: Option<&str>) -> Result<&Key, Denied> {
		let key = self.known(authorization);
		if key.is_none() {
			self.unknown
				.lock()
				.unwrap_or_else(|poisoned| poisoned.into_inner())
				.take(Instant::now())
				.map_err(Denied::RateLimited)?;
		}
		let key = key.ok_or(Denied::Unknown)?;
		key.bucket
			.lock()
			.unwrap_or_else(|poisoned| poisoned.into_inner())
			.take(Instant::now())
			.map_err(Denied::RateLimited)?;
		Ok(key)
	}

	/// The key `authorization` names, if it is one of the gateway's.
	fn known(&self, authorization: Option<&str>) -> Option<&Key> {
		// The scheme is case-insensitive (RFC 9110).
		let presented = authorization
			.and_then(|value| value.split_once(' '))
			.filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
			.map(|(_, key)| key.trim())?;
		let hash = key_hash(presented);
		self.keys.iter().find(|key| key.hash == hash)
	}

	/// Reserves `amount` of `account`'s cap before a transaction is sent; `Err` with what is
	/// spent already if the cap would be passed. The reservation is on disk before this returns.
	pub fn reserve(&self, account: usize, amount: Balance) -> Result<(), CapReached> {
		let account = &self.accounts[account];
		self.ledger.reserve(&account.id, amount, account.spend_cap)
	}

	/// Gives back `amount` of a reservation that was not spent (a transaction the node refused,
	/// or a fee estimate above the fee charged).
	pub fn release(&self, account: usize, amount: Balance) {
		self.ledger.release(&self.accounts[account].id, amount);
	}

	/// Adds `amount` spent beyond a reservation (a transaction fee above its quote): it was
	/// spent, so it counts even past the cap.
	pub fn charge(&self, account: usize, amount: Balance) {
		self.ledger.charge(&self.accounts[account].id, amount);
	}

	/// What the gateway has spent from `account` so far.
	pub fn spent(&self, account: usize) -> Balance {
		self.ledger.spent(&self.accounts[account].id)
	}
}

/// A reservation that would pass an account's spending cap.
#[derive(Debug, PartialEq, Eq)]
pub struct CapReached {
	/// Spent so far.
	pub spent: Balance,
	/// The cap.
	pub cap: Balance,
}

impl Key {
	fn new(
		name: String,
		hash: [u8; 32],
		account: usize,
		per_minute: u32,
	) -> Result<Self, CliError> {
		if per_minute == 0 {
			return Err(CliError::Usage(format!(
				"key {name}: requests_per_minute must be at least 1"
			)));
		}
		Ok(Self {
			name,
			hash,
			account,
			bucket: Mutex::new(Bucket::new(per_minute, Instant::now())),
		})
	}
}

/// A key's rate limit: a bucket of `per_minute` requests refilled evenly over a minute.
struct Bucket {
	per_minute: f64,
	tokens: f64,
	at: Instant,
}

impl Bucket {
	fn new(per_minute: u32, now: Instant) -> Self {
		Self {
			per_minute: f64::from(per_minute),
			tokens: f64::from(per_minute),
			at: now,
		}
	}

	/// Takes one request; `Err` with the seconds until the next one is allowed.
	fn take(&mut self, now: Instant) -> Result<(), u64> {
		let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
		self.tokens = (self.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute);
		self.at = now;
		if self.tokens >= 1.0 {
			self.tokens -= 1.0;
			Ok(())
		} else {
			let wait = (1.0 - self.tokens) * 60.0 / self.per_minute;
			Err(wait.ceil().max(1.0) as u64)
		}
	}
}

fn check_key_strength(key: &str) -> Result<(), CliError> {
	if key.len() < MIN_KEY_LEN {
		return Err(CliError::Usage(format!(
			"an API key must have at least {MIN_KEY_LEN} characters (e.g. `openssl rand -hex 24`)"
		)));
	}
	Ok(())
}

/// The accounts and keys of a keys file. Secrets are read from the accounts' `suri_file`s (or
/// `suri`, development URIs only); nothing secret appears in an error.
fn parse_keys_file(text: &str, path: &Path) -> Result<(Vec<Account>, Vec<Key>), CliError> {
	let bad = |what: String| CliError::Usage(format!("--keys {}: {what}", path.display()));
	let file: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
	let object = file
		.as_object()
		.ok_or_else(|| bad("expected an object with `accounts` and `keys`".into()))?;
	if let Some(unknown) = object
		.keys()
		.find(|k| !["accounts", "keys"].contains(&k.as_str()))
	{
		return Err(bad(format!("unknown field `{unknown}`")));
	}
	let list = |name: &str| -> Result<&Vec<Value>, CliError> {
		object
			.get(name)
			.and_then(Value::as_array)
			.filter(|list| !list.is_empty())
			.ok_or_else(|| bad(format!("`{name}` must be a non-empty array")))
	};
	let mut accounts = Vec::new();
	for entry in list("accounts")? {
		let field = fields(
			entry,
			&["name", "suri", "suri_file", "spend_cap"],
			"account",
		)
		.map_err(&bad)?;
		let name = named(&field, "an account").map_err(&bad)?;
		if accounts.iter().any(|a: &Account| a.name == name) {
			return Err(bad(format!("two accounts are named `{name}`")));
		}
		let chain = ChainArgs {
			url: String::new(),
			suri: field("suri").and_then(Value::as_str).map(str::to_string),
			suri_file: field("suri_file")
				.and_then(Value::as_str)
				.map(PathBuf::from),
		};
		if chain.suri.is_some() == chain.suri_file.is_some() {
			return Err(bad(format!(
				"account `{name}` needs one of `suri` (development URIs) or `suri_file`"
			)));
		}
		let signer = chain
			.signer()
			.map_err(|e| bad(format!("account `{name}`: {e}")))?;
		let spend_cap = field("spend_cap")
			.and_then(Value::as_str)
			.ok_or_else(|| {
				bad(format!(
					"account `{name}` needs a `spend_cap` such as \"10VRT\""
				))
			})
			.and_then(|cap| {
				amount::parse(cap).map_err(|e| bad(format!("account `{name}`: {e}")))
			})?;
		let id = AccountId::new(signer.public_key().0);
		if accounts.iter().any(|a: &Account| a.id == id) {
			// Two caps and two nonce counters for one chain account would both be wrong.
			return Err(bad(format!(
				"account `{name}` has the same address as another"
			)));
		}
		accounts.push(Account {
			name,
			id,
			signer,
			spend_cap,
		});
	}
	let mut keys: Vec<Key> = Vec::new();
	for entry in list("keys")? {
		let field = fields(
			entry,
			&["name", "key_hash", "account", "requests_per_minute"],
			"key",
		)
		.map_err(&bad)?;
		let name = named(&field, "a key").map_err(&bad)?;
		let hash = field("key_hash")
			.and_then(Value::as_str)
			.and_then(hex::decode32)
			.ok_or_else(|| {
				bad(format!(
					"key `{name}` needs a `key_hash`: 0x and 64 hex digits, from `verity gateway \
					 --hash-key`"
				))
			})?;
		if keys.iter().any(|k| k.hash == hash || k.name == name) {
			return Err(bad(format!("key `{name}` repeats a name or a key_hash")));
		}
		let account_name = field("account").and_then(Value::as_str).unwrap_or("");
		let account = accounts
			.iter()
			.position(|a| a.name == account_name)
			.ok_or_else(|| bad(format!("key `{name}` names no account of the file")))?;
		let per_minute = field("requests_per_minute")
			.and_then(Value::as_u64)
			.and_then(|n| u32::try_from(n).ok())
			.ok_or_else(|| {
				bad(format!(
					"key `{name}` needs `requests_per_minute` (1 or more)"
				))
			})?;
		keys.push(Key::new(name, hash, account, per_minute).map_err(|e| bad(e.to_string()))?);
	}
	Ok((accounts, keys))
}

/// The `name` of a keys-file entry (`what`: "an account", "a key").
fn named<'a>(field: &impl Fn(&str) -> Option<&'a Value>, what: &str) -> Result<String, String> {
	field("name")
		.and_then(Value::as_str)
		.map(str::to_string)
		.ok_or_else(|| format!("{what} needs a `name`"))
}

/// The fields of a keys-file entry, refusing any field not in `known` (a typo such as
/// `spendcap` must not silently mean "no cap").
fn fields<'a>(
	entry: &'a Value,
	known: &[&str],
	what: &str,
) -> Result<impl Fn(&str) -> Option<&'a Value>, String> {
	let object = entry
		.as_object()
		.ok_or_else(|| format!("each {what} must be an object"))?;
	if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
		return Err(format!("unknown {what} field `{unknown}`"));
	}
	Ok(move |name: &str| object.get(name))
}

/// What the gateway has spent per account, kept in a JSON file (`{"<address>": "<planck>"}`)
/// rewritten atomically (a temporary file renamed over it) before each transaction is sent, so
/// a crash or restart never forgets spending and never resets a cap.
struct Ledger {
	path: PathBuf,
	spent: Mutex<BTreeMap<String, Balance>>,
	/// An exclusive lock on `spent.lock` beside the ledger, held while the gateway runs: two
	/// gateways on one ledger would each spend up to the cap.
	_lock: std::fs::File,
}

impl Ledger {
	fn open(path: PathBuf) -> Result<Self, CliError> {
		let bad = |what: String| CliError::Usage(format!("the ledger {}: {what}", path.display()));
		if let Some(dir) = path.parent() {
			std::fs::create_dir_all(dir)
				.map_err(|e| bad(format!("cannot create its folder: {e}")))?;
		}
		let lock = std::fs::File::create(path.with_extension("lock"))
			.map_err(|e| bad(format!("cannot create its lock file: {e}")))?;
		lock.try_lock().map_err(|_| {
			bad("another gateway is using it (give each gateway its own --state-dir)".into())
		})?;
		let spent = match std::fs::read_to_string(&path) {
			Ok(text) => {
				let value: Value =
					serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
				let object = value
					.as_object()
					.ok_or_else(|| bad("expected an object of address → planck".into()))?;
				object
					.iter()
					.map(|(account, planck)| {
						planck
							.as_str()
							.and_then(|p| p.parse::<Balance>().ok())
							.map(|p| (account.clone(), p))
							.ok_or_else(|| bad(format!("{account}: expected a planck string")))
					})
					.collect::<Result<BTreeMap<_, _>, _>>()?
			}
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
			Err(e) => return Err(bad(e.to_string())),
		};
		let ledger = Self {
			path,
			spent: Mutex::new(spent),
			_lock: lock,
		};
		// Writable now, not at the first request.
		ledger
			.save(&ledger.lock())
			.map_err(|e| CliError::Usage(e.to_string()))?;
		Ok(ledger)
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Balance>> {
		self.spent.lock().unwrap_or_else(|p| p.into_inner())
	}

	fn save(&self, spent: &BTreeMap<String, Balance>) -> std::io::Result<()> {
		let object: serde_json::Map<String, Value> = spent
			.iter()
			.map(|(k, v)| (k.clone(), Value::String(v.to_string())))
			.collect();
		let tmp = self.path.with_extension("json.tmp");
		let mut file = std::fs::File::create(&tmp)?;
		std::io::Write::write_all(&mut file, format!("{}\n", Value::Object(object)).as_bytes())?;
		// On the disk, not only in the page cache, before the transaction is sent.
		file.sync_all()?;
		std::fs::rename(&tmp, &self.path)
	}

	fn spent(&self, who: &AccountId) -> Balance {
		self.lock().get(&who.to_string()).copied().unwrap_or(0)
	}

	fn reserve(&self, who: &AccountId, amount: Balance, cap: Balance) -> Result<(), CapReached> {
		let mut spent = self.lock();
		let now = spent.get(&who.to_string()).copied().unwrap_or(0);
		let after = now.checked_add(amount).filter(|after| *after <= cap);
		let Some(after) = after else {
			return Err(CapReached { spent: now, cap });
		};
		spent.insert(who.to_string(), after);
		if self.save(&spent).is_err() {
			// Not on disk: not reserved (a crash now would forget it).
			spent.insert(who.to_string(), now);
			return Err(CapReached { spent: now, cap });
		}
		Ok(())
	}

	fn charge(&self, who: &AccountId, amount: Balance) {
		let mut spent = self.lock();
		let now = spent.get(&who.to_string()).copied().unwrap_or(0);
		spent.insert(who.to_string(), now.saturating_add(amount));
		let _ = self.save(&spent);
	}

	fn release(&self, who: &AccountId, amount: Balance) {
		let mut spent = self.lock();
		let now = spent.get(&who.to_string()).copied().unwrap_or(0);
		spent.insert(who.to_string(), now.saturating_sub(amount));
		// A failed write keeps the larger figure on disk: the safe side.
		let _ = self.save(&spent);
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	#[test]
	fn a_bucket_lets_its_rate_through_and_says_when_to_retry() {
		let start = Instant::now();
		let mut bucket = Bucket::new(2, start);
		assert_eq!(bucket.take(start), Ok(()));
		assert_eq!(bucket.take(start), Ok(()));
		// Two per minute: the next one in 30 s.
		assert_eq!(bucket.take(start), Err(30));
		assert_eq!(bucket.take(start + Duration::from_secs(29)), Err(1));
		assert_eq!(bucket.take(start + Duration::from_secs(31)), Ok(()));
		// An hour idle refills to the rate, not beyond.
		let later = start + Duration::from_secs(3600);
		assert_eq!(bucket.take(later), Ok(()));
		assert_eq!(bucket.take(later), Ok(()));
		assert!(bucket.take(later).is_err());
	}

	fn temp_dir(name: &str) -> PathBuf {
		let dir =
			std::env::temp_dir().join(format!("verity-gateway-{name}-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		dir
	}

	#[test]
	fn the_ledger_keeps_the_cap_across_a_restart() {
		let dir = temp_dir("ledger");
		let who = AccountId::new([7; 32]);
		let ledger = Ledger::open(dir.join("spent.json")).unwrap();
		assert_eq!(ledger.reserve(&who, 60, 100), Ok(()));
		let second = Ledger::open(dir.join("spent.json"))
			.err()
			.expect("one gateway per ledger");
		assert!(second.to_string().contains("another gateway"), "{second}");
		assert_eq!(
			ledger.reserve(&who, 41, 100),
			Err(CapReached {
				spent: 60,
				cap: 100
			})
		);
		assert_eq!(ledger.reserve(&who, 40, 100), Ok(()));
		ledger.release(&who, 10);
		// Spent beyond a reservation counts, even past the cap.
		ledger.charge(&who, 15);
		ledger.release(&who, 15);
		drop(ledger);
		// A new gateway process reads what the last one spent.
		let reopened = Ledger::open(dir.join("spent.json")).unwrap();
		assert_eq!(reopened.spent(&who), 90);
		assert_eq!(
			reopened.reserve(&who, 11, 100),
			Err(CapReached {
				spent: 90,
				cap: 100
			})
		);
		assert_eq!(reopened.spent(&AccountId::new([8; 32])), 0);
		let _ = std::fs::remove_dir_all(&dir);
	}

	fn keys_file(text: &str) -> Result<(Vec<Account>, Vec<Key>), CliError> {
		parse_keys_file(text, Path::new("keys.json"))
	}

	#[test]
	fn a_keys_file_maps_hashed_keys_to_capped_accounts_and_refuses_typos() {
		let hash = format!(
			"0x{}",
			verity_inference::digest::to_hex(&key_hash("k-0123456789abcdefghij"))
		);
		let good = format!(
			r#"{{"accounts":[{{"name":"app","suri":"//Dave","spend_cap":"2VRT"}}],
			    "keys":[{{"name":"web","key_hash":"{hash}","account":"app","requests_per_minute":5}}]}}"#
		);
		let (accounts, keys) = keys_file(&good).unwrap();
		assert_eq!(accounts[0].spend_cap, 2 * verity_primitives::token::UNIT);
		assert_eq!(keys[0].account, 0);
		let access = Access {
			accounts,
			keys,
			ledger: Ledger::open(temp_dir("keys").join("spent.json")).unwrap(),
			unknown: Mutex::new(Bucket::new(UNKNOWN_PER_MINUTE, Instant::now())),
		};
		assert_eq!(
			access
				.admit(Some("Bearer k-0123456789abcdefghij"))
				.unwrap()
				.name,
			"web"
		);
		assert_eq!(
			access
				.admit(Some("bearer k-0123456789abcdefghij"))
				.unwrap()
				.name,
			"web"
		);
		assert_eq!(
			access.admit(Some("Bearer wrong")).err(),
			Some(Denied::Unknown)
		);
		assert_eq!(
			access.admit(Some("k-0123456789abcdefghij")).err(),
			Some(Denied::Unknown)
		);
		assert_eq!(access.admit(None).err(), Some(Denied::Unknown));
		// Guessing is limited for all clients together; a real key is not affected.
		for _ in 3..UNKNOWN_PER_MINUTE {
			assert_eq!(
				access.admit(Some("Bearer guess")).err(),
				Some(Denied::Unknown)
			);
		}
		assert!(matches!(
			access.admit(Some("Bearer guess")),
			Err(Denied::RateLimited(_))
		));
		assert_eq!(
			access
				.admit(Some("Bearer k-0123456789abcdefghij"))
				.unwrap()
				.name,
			"web"
		);

		for (broken, says) in [
			(
				good.replace("spend_cap", "spendcap"),
				"unknown account field `spendcap`",
			),
			(
				good.replace("\"//Dave\"", "\"bottom drive obey lake\""),
				"development URIs",
			),
			(
				good.replace("\"account\":\"app\"", "\"account\":\"other\""),
				"names no account",
			),
			(good.replace(&hash, "0x12"), "needs a `key_hash`"),
			(
				good.replace("\"requests_per_minute\":5", "\"requests_per_minute\":0"),
				"at least 1",
			),
			(
				good.replace(",\"spend_cap\":\"2VRT\"", ""),
				"needs a `spend_cap`",
			),
			(good.replace("2VRT", "2"), "has no unit"),
			(
				good.replace(
					"\"2VRT\"}]",
					"\"2VRT\"},{\"name\":\"again\",\"suri\":\"//Dave\",\"spend_cap\":\"1VRT\"}]",
				),
				"same address",
			),
		] {
			let error = keys_file(&broken).err().expect(says).to_string();
			assert!(error.contains(says), "{error} should say {says}");
			assert!(!error.contains("bottom drive"), "a secret leaked: {error}");
		}
	}
}
