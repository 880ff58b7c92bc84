//! End to end: the apps people run against a node, on one `--dev --worker` node at once (they
//! sign with different accounts and read only what they submit):
//!
//! * `verity gateway`, the OpenAI-compatible API, driven by the `openai` Python package and
//!   curl ([`gateway`]);
//! * the explorer in headless Chromium ([`explorer`]).
//!
//! Then the node is stopped, and each says so: the gateway with a 503, the page with a banner.

#[path = "../common/mod.rs"]
mod common;
mod explorer;
mod gateway;

use std::time::Duration;

use common::TestNode;
use verity_inference::default_models_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_apps_gateway_and_explorer_serve_one_dev_node() {
	let models_dir = default_models_dir();
	let models = models_dir.to_str().expect("a UTF-8 path");
	let mut node = TestNode::start(&["--dev", "--worker", "--models-dir", models]);
	let api = node.connect(Duration::from_secs(120)).await;
	let url = node.ws_url();
	let dir = tempfile::tempdir().expect("a temporary directory");

	let explorer = explorer::Explorer::start(&url);
	let browsing = {
		let (base, url) = (explorer.base.clone(), url.clone());
		std::thread::spawn(move || explorer::browse(&base, &url))
	};
	let gateway = gateway::scenario(&api, &url, dir.path()).await;
	if let Err(panic) = browsing.join() {
		std::panic::resume_unwind(panic);
	}

	node.stop(Duration::from_secs(30));
	gateway::node_gone(&gateway);
	explorer::node_gone(&explorer);
}
