//! The Heroku Platform API calls the autoscaler makes, and nothing else:
//! `GET /apps/{app}/formation` and the batch `PATCH /apps/{app}/formation`.
//!
//! - `Accept: application/vnd.heroku+json; version=3` (else 406), Bearer auth,
//!   a User-Agent.
//! - `RateLimit-Remaining` is read from every response ([`Client::rate_limit_remaining`]).
//! - Errors are typed: 401/403 are fatal configuration errors, 429 is
//!   rate limiting (back off), 422 `cannot_run_above_limit` carries the limit.
//! - The token never appears in `Debug`, errors or logs.

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;
use std::time::Duration;

pub(crate) const ACCEPT: &str = "application/vnd.heroku+json; version=3";
pub const DEFAULT_BASE_URL: &str = "https://api.heroku.com";

/// An API token. Shows as `[REDACTED]` everywhere.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_string())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FormationEntry {
    #[serde(rename = "type")]
    pub process_type: String,
    pub quantity: u32,
    #[serde(default)]
    pub(crate) size: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    #[serde(rename = "type")]
    pub process_type: String,
    pub quantity: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the Platform API refused the token ({status} {id}: {message}). Check AUTOSCALE_HEROKU_API_KEY: it must be a valid token with access to the app (`heroku authorizations:create` makes a long-lived one).")]
    Unauthorized {
        status: u16,
        id: String,
        message: String,
    },
    #[error("the Platform API rate limit is spent (429 rate_limit): backing off")]
    RateLimited,
    #[error("the account cannot run more dynos of this type ({message}){}", limit.map(|l| format!(": the limit is {l}")).unwrap_or_default())]
    AboveLimit { limit: Option<u32>, message: String },
    #[error("the app was not found (404): check AUTOSCALE_HEROKU_APP_NAME")]
    NotFound,
    #[error("the Platform API answered {status} {id}: {message}")]
    Http {
        status: u16,
        id: String,
        message: String,
    },
    #[error("the Platform API could not be reached: {0}")]
    Transport(String),
}

impl ApiError {
    /// Errors that no retry will fix: stop and report a configuration error.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. } | ApiError::NotFound)
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    limit: Option<u32>,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    app: String,
    token: Token,
    remaining: Cell<Option<u32>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("app", &self.app)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(base: &str, app: &str, token: Token, timeout: Duration) -> Self {
        Self {
            // One deadline for each request as a whole, also on a kept-alive
            // connection from the pool (a stalled answer on one waited past
            // per-socket timeouts before: issue 17). 4xx/5xx bodies are read:
            // they say why (`cannot_run_above_limit`, its limit).
            agent: buildkit::http::agent_config(timeout)
                .user_agent(concat!("slipway-autoscale/", env!("CARGO_PKG_VERSION")))
                .http_status_as_error(false)
                .build()
                .new_agent(),
            base: base.trim_end_matches('/').to_string(),
            app: app.to_string(),
            token,
            remaining: Cell::new(None),
        }
    }

    /// `RateLimit-Remaining` of the last response.
    pub fn rate_limit_remaining(&self) -> Option<u32> {
        self.remaining.get()
    }

    fn url(&self) -> String {
        format!("{}/apps/{}/formation", self.base, self.app)
    }

    fn authorization(&self) -> String {
        format!("Bearer {}", self.token.0)
    }

    fn finish(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<FormationEntry>, ApiError> {
        // What went wrong, never the URL nor the headers (the token).
        let mut response = result.map_err(|e| ApiError::Transport(buildkit::http::describe(&e)))?;
        self.note_remaining(&response);
        let status = response.status().as_u16();
        if status >= 400 {
            let body: ErrorBody = response.body_mut().read_json().unwrap_or_default();
            return Err(match (status, body.id.as_str()) {
                (401 | 403, _) => ApiError::Unauthorized {
                    status,
                    id: body.id,
                    message: body.message,
                },
                (429, _) => ApiError::RateLimited,
                (404, _) => ApiError::NotFound,
                (422, "cannot_run_above_limit") => ApiError::AboveLimit {
                    limit: body.limit,
                    message: body.message,
                },
                _ => ApiError::Http {
                    status,
                    id: body.id,
                    message: body.message,
                },
            });
        }
        response
            .body_mut()
            .read_json::<Vec<FormationEntry>>()
            .map_err(|e| {
                ApiError::Transport(format!(
                    "unreadable formation JSON: {}",
                    buildkit::http::describe(&e)
                ))
            })
    }

    fn note_remaining(&self, r: &ureq::http::Response<ureq::Body>) {
        if let Some(n) = r
            .headers()
            .get("RateLimit-Remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
        {
            self.remaining.set(Some(n));
        }
    }

    /// `GET /apps/{app}/formation`: every process type and its quantity, now.
    pub fn formation(&self) -> Result<Vec<FormationEntry>, ApiError> {
        self.finish(
            self.agent
                .get(&self.url())
                .header("Accept", ACCEPT)
                .header("Authorization", &self.authorization())
                .call(),
        )
    }

    /// One batch `PATCH /apps/{app}/formation`; nothing is sent for no updates.
    pub fn update_formation(&self, updates: &[Update]) -> Result<Vec<FormationEntry>, ApiError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({ "updates": updates });
        self.finish(
            self.agent
                .patch(&self.url())
                .header("Accept", ACCEPT)
                .header("Authorization", &self.authorization())
                .send_json(body),
        )
    }
}
