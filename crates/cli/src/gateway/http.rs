//! The gateway's HTTP/1.1 server (hyper): routing, bounded request bodies, JSON and
//! server-sent-event responses, and one log line per request (by key name, never the key).

use std::{
	convert::Infallible,
	pin::Pin,
	sync::Arc,
	task::{Context, Poll},
	time::Duration,
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{
	body::{Bytes, Frame, Incoming},
	header, Method, Request, Response, StatusCode,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{access::Denied, jobs::Gateway, openai::ApiError};
use crate::error::CliError;

/// The largest request body read: a prompt or the texts of an embedding job are a few KiB on
/// chain, so anything near this is refused by the job's bounds anyway.
const MAX_BODY: usize = 1 << 20;

/// A response body: a whole JSON document, or a stream of server-sent events.
pub enum Body {
	/// One buffer.
	Full(Full<Bytes>),
	/// Events as the job advances; the stream ends when the sender is dropped.
	Events(mpsc::Receiver<String>),
}

impl hyper::body::Body for Body {
	type Data = Bytes;
	type Error = Infallible;

	fn poll_frame(
		self: Pin<&mut Self>,
		cx: &mut Context<'_>,
	) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
		match self.get_mut() {
			Body::Full(full) => Pin::new(full).poll_frame(cx),
			Body::Events(events) => events
				.poll_recv(cx)
				.map(|event| event.map(|text| Ok(Frame::data(Bytes::from(text))))),
		}
	}
}

/// A JSON response.
pub fn json_response(status: u16, value: &Value) -> Response<Body> {
	let mut response = Response::new(Body::Full(Full::new(Bytes::from(value.to_string()))));
	*response.status_mut() =
		StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
	response.headers_mut().insert(
		header::CONTENT_TYPE,
		header::HeaderValue::from_static("application/json"),
	);
	response
}

/// OpenAI's error object with the error's status (and `Retry-After` when it has one).
pub fn error_response(error: &ApiError) -> Response<Body> {
	let mut response = json_response(error.status, &error.body());
	if let Some(seconds) = error.retry_after {
		response
			.headers_mut()
			.insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
	}
	response
}

/// A server-sent-event stream fed by `events` (each item one whole `data: …\n\n` event).
pub fn event_stream(events: mpsc::Receiver<String>) -> Response<Body> {
	let mut response = Response::new(Body::Events(events));
	let headers = response.headers_mut();
	headers.insert(
		header::CONTENT_TYPE,
		header::HeaderValue::from_static("text/event-stream"),
	);
	headers.insert(
		header::CACHE_CONTROL,
		header::HeaderValue::from_static("no-cache"),
	);
	response
}

/// The most connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 256;

/// The longest a client may take to send a request's headers, or its body.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections, one task each, at most [`MAX_CONNECTIONS`] at once; a failed accept
/// (out of file handles) is logged and retried, never the end of the gateway.
pub async fn serve(
	listener: tokio::net::TcpListener,
	gateway: Arc<Gateway>,
) -> Result<(), CliError> {
	let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
	loop {
		let Ok(slot) = slots.clone().acquire_owned().await else {
			return Ok(());
		};
		let stream = match listener.accept().await {
			Ok((stream, _)) => stream,
			Err(error) => {
				eprintln!("accept: {error}; retrying in 1 s");
				tokio::time::sleep(Duration::from_secs(1)).await;
				continue;
			}
		};
		let gateway = gateway.clone();
		tokio::spawn(async move {
			let service = hyper::service::service_fn(move |request| {
				let gateway = gateway.clone();
				async move { Ok::<_, Infallible>(handle(&gateway, request).await) }
			});
			let _ = hyper::server::conn::http1::Builder::new()
				.timer(hyper_util::rt::TokioTimer::new())
				.header_read_timeout(READ_TIMEOUT)
				.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
				.await;
			drop(slot);
		});
	}
}

/// One request: authorized, routed, answered, logged.
async fn handle(gateway: &Arc<Gateway>, request: Request<Incoming>) -> Response<Body> {
	let method = request.method().clone();
	let path = request.uri().path().to_string();
	let (response, key, job) = route(gateway, request).await;
	eprintln!(
		"{method} {path} key={} → {}{}",
		key.unwrap_or("-"),
		response.status().as_u16(),
		job.map(|id| format!(" job {id}")).unwrap_or_default()
	);
	response
}

/// The response, the name of the key that was admitted, and the job submitted (if any).
async fn route<'g>(
	gateway: &'g Arc<Gateway>,
	request: Request<Incoming>,
) -> (Response<Body>, Option<&'g str>, Option<u64>) {
	let endpoint = match (request.method(), request.uri().path()) {
		(&Method::GET, "/v1/models") => Endpoint::Models,
		(&Method::POST, "/v1/chat/completions") => Endpoint::Chat,
		(&Method::POST, "/v1/embeddings") => Endpoint::Embeddings,
		(_, "/v1/models" | "/v1/chat/completions" | "/v1/embeddings") => {
			let error = ApiError::new(
				405,
				"invalid_request_error",
				"method_not_allowed",
				format!("{} is not allowed here", request.method()),
			);
			return (error_response(&error), None, None);
		}
		(_, path) => {
			let error = ApiError::new(404, "invalid_request_error", "unknown_url", format!("no endpoint {path}: this gateway serves /v1/chat/completions, /v1/embeddings and /v1/models"));
			return (error_response(&error), None, None);
		}
	};
	let authorization = request
		.headers()
		.get(header::AUTHORIZATION)
		.and_then(|value| value.to_str().ok());
	let key = match gateway.access.admit(authorization) {
		Ok(key) => key,
		Err(Denied::Unknown) => {
			let error = ApiError::new(
				401,
				"invalid_request_error",
				"invalid_api_key",
				"missing or unknown API key: send `Authorization: Bearer <key>`",
			);
			return (error_response(&error), None, None);
		}
		Err(Denied::RateLimited(seconds)) => {
			let mut error = ApiError::new(
				429,
				"requests",
				"rate_limit_exceeded",
				format!("rate limit reached: retry in {seconds} s"),
			);
			error.retry_after = Some(seconds);
			return (error_response(&error), None, None);
		}
	};
	let name = Some(key.name.as_str());
	if endpoint == Endpoint::Models {
		let response = match gateway.models().await {
			Ok(list) => json_response(200, &list),
			Err(error) => error_response(&error),
		};
		return (response, name, None);
	}
	let body = match read_json(request).await {
		Ok(body) => body,
		Err(error) => return (error_response(&error), name, None),
	};
	let parsed = match endpoint {
		Endpoint::Chat => super::openai::chat_request(&body),
		_ => super::openai::embeddings_request(&body),
	};
	let request = match parsed {
		Ok(request) => request,
		Err(error) => return (error_response(&error), name, None),
	};
	let (response, job) = gateway.serve_job(key, request).await;
	(response, name, job)
}

#[derive(PartialEq, Eq)]
enum Endpoint {
	Models,
	Chat,
	Embeddings,
}

/// The request body as JSON, at most [`MAX_BODY`] bytes.
async fn read_json(request: Request<Incoming>) -> Result<Value, ApiError> {
	let read = tokio::time::timeout(
		READ_TIMEOUT,
		Limited::new(request.into_body(), MAX_BODY).collect(),
	)
	.await
	.map_err(|_| {
		ApiError::new(
			408,
			"invalid_request_error",
			"request_timeout",
			"the body did not arrive in 30 s",
		)
	})?;
	let bytes = read
		.map_err(|error| {
			if error
				.downcast_ref::<http_body_util::LengthLimitError>()
				.is_some()
			{
				ApiError::new(
					413,
					"invalid_request_error",
					"body_too_large",
					format!("the body is larger than {MAX_BODY} bytes"),
				)
			} else {
				ApiError::new(
					400,
					"invalid_request_error",
					"invalid_body",
					format!("the body could not be read: {error}"),
				)
			}
		})?
		.to_bytes();
	serde_json::from_slice(&bytes).map_err(|e| {
		ApiError::invalid("body", "invalid_json", format!("the body is not JSON: {e}"))
	})
}
