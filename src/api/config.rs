//! The dispatch service's configuration file (TOML): the event log path, the listen address,
//! the delays and targets the live figures use, the body size limit and the bearer tokens.
//!
//! This module owns reading and validating that file. It must not expose tokens: their `Debug`
//! form is redacted, and nothing here logs them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dispatch::store::Location;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read, and record incidents, assignments, statuses and positions.
    Dispatcher,
    /// Everything.
    Admin,
}

/// A bearer token and who holds it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (logged; the token itself never is).
    pub name: String,
    pub token: String,
    pub role: Role,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// The configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The event log: a SQLite file (relative paths are under the working directory), or a
    /// PostgreSQL URL `postgres://user:password@host:port/database` shared by replicas.
    #[serde(default = "default_db")]
    pub db: Location,
    /// `host:port` to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Call received → dispatched, seconds (for coverage now).
    #[serde(default = "sixty")]
    pub call_handling_s: f64,
    /// Dispatched → departed for a unit at its station, seconds.
    #[serde(default = "sixty")]
    pub turnout_s: f64,
    /// The response-time target, minutes.
    #[serde(default = "twelve")]
    pub response_target_min: f64,
    /// A handover at least this long is detention (default: the standards preset's).
    #[serde(default)]
    pub detention_threshold_min: Option<f64>,
    /// Largest request body, bytes.
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// Clock skew tolerated in reported times, seconds: a time up to this far ahead of the
    /// server clock is taken as the server's time (the client's kept as `reported_at`), further
    /// ahead it is refused; a status time up to this far before the unit's last change is
    /// taken as that change's time.
    #[serde(default = "default_skew")]
    pub clock_skew_s: i64,
    /// How long an `Idempotency-Key` is remembered, hours: a retry inside the window gets the
    /// first answer; after it the key is forgotten and the request is a new one.
    #[serde(default = "default_idempotency")]
    pub idempotency_window_h: f64,
    /// A client must send a request's headers within this many seconds of connecting (or of
    /// its previous request on a kept-alive connection), else the connection is closed.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_s: f64,
    /// A request's body must arrive within this many seconds, else 408.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_s: f64,
    /// Messages an event-stream client may fall behind by before it is told to resync.
    #[serde(default = "default_stream_buffer")]
    pub stream_buffer: usize,
    /// Open connections at most; further clients wait in the listen backlog until one closes.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
    #[serde(default)]
    pub tokens: Vec<Token>,
    /// The move-up policy whose posting `GET /v1/posting` and the event stream recommend:
    /// `static` (none), `table` (with `compliance_table`) or `dmexclp`.
    #[serde(default)]
    pub move_up_policy: crate::dispatch::policy::PolicyKind,
    /// The compliance table (JSON from `ems optimize --model compliance-table`), relative
    /// paths under the working directory.
    #[serde(default)]
    pub compliance_table: Option<PathBuf>,
    /// Relocations one unit may be asked to make in any 60 minutes (at least 1).
    #[serde(default = "default_relocations")]
    pub max_relocations_per_hour: u32,
    /// The longest relocation drive a posting asks for, minutes.
    #[serde(default = "default_relocation_min")]
    pub max_relocation_min: f64,
    /// Dynamic MEXCLP's busy fraction (and the expected coverage the posting reports).
    #[serde(default = "default_busy")]
    pub busy_fraction: f64,
    /// The addresses at which clients reach every replica sharing this log, this one included
    /// (`["http://10.0.0.1:8080", "http://10.0.0.2:8080"]`; one config file serves them all,
    /// each started with its own `--listen`). `GET /v1/replicas` lists them, the board fails
    /// over to the next one when a replica does not answer, and their origins may call this
    /// server from a browser page (CORS). Kept as `scheme://host:port`.
    #[serde(default)]
    pub replicas: Vec<String>,
}

/// A replica address as `scheme://authority`, or why it is not one.
fn replica_origin(text: &str) -> Result<String, String> {
    if text.contains('@') {
        // Not echoed: what precedes the @ may be a password.
        return Err(
            "must not hold a user name or password (write http://host:port; the board \
             sends its token itself)"
                .into(),
        );
    }
    let uri: axum::http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not an address ({e}); write http://host:port"))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !matches!(scheme, "http" | "https") {
        return Err(format!(
            "`{text}` must start with http:// or https:// (how a browser reaches the replica)"
        ));
    }
    let Some(authority) = uri.authority() else {
        return Err(format!("`{text}` has no host"));
    };
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return Err(format!(
            "`{text}` must be the replica's root (http://host:port), without a path or query"
        ));
    }
    Ok(format!(
        "{scheme}://{}",
        authority.as_str().to_ascii_lowercase()
    ))
}

fn default_relocations() -> u32 {
    2
}
fn default_relocation_min() -> f64 {
    15.0
}
fn default_busy() -> f64 {
    0.3
}

fn default_db() -> Location {
    Location::Sqlite(PathBuf::from("ems-dispatch.sqlite"))
}
fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn sixty() -> f64 {
    60.0
}
fn twelve() -> f64 {
    12.0
}
fn default_body() -> usize {
    64 * 1024
}
fn default_skew() -> i64 {
    crate::dispatch::MAX_FUTURE_S
}
fn default_idempotency() -> f64 {
    24.0
}
fn default_header_timeout() -> f64 {
    10.0
}
fn default_body_timeout() -> f64 {
    10.0
}
fn default_stream_buffer() -> usize {
    1024
}
fn default_connections() -> usize {
    512
}

/// The configuration file is unreadable or wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read: check the path.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or a field has the wrong type; the message gives the line and
    /// the field.
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    /// A value is out of range.
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },
}

/// A TOML error as "line N: message", without the quoted source line that `toml` prints
/// (issue #14: a broken token line printed the secret). On a line that mentions a token, the
/// message itself is left out too, since it may quote the value.
fn redacted(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return "the file does not parse as TOML".into();
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    if line.to_ascii_lowercase().contains("token") {
        format!(
            "line {line_no}: this line does not parse (its text is not shown: it holds a \
             token); check the quotes and the `name`, `token`, `role` keys"
        )
    } else {
        format!("line {line_no}: {}", e.message())
    }
}

/// The embedded demo's configuration text.
pub const DEMO: &str = include_str!("../../data/demo/dispatch.toml");

impl Config {
    /// The embedded demo configuration (with its demo-only tokens).
    pub fn demo() -> Config {
        Config::parse(DEMO, "data/demo/dispatch.toml").expect("the embedded config is valid")
    }

    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: name.clone(),
            source: e,
        })?;
        Config::parse(&text, &name)
    }

    /// Parses configuration text (`path` names it in messages).
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_string(),
            message: redacted(text, &e),
        })?;
        let bad = |field: &str, message: String| ConfigError::Invalid {
            path: path.to_string(),
            field: field.to_string(),
            message,
        };
        for (field, v) in [
            ("call_handling_s", c.call_handling_s),
            ("turnout_s", c.turnout_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(field, format!("{v} must be a non-negative number")));
            }
        }
        if !(c.response_target_min.is_finite() && c.response_target_min > 0.0) {
            return Err(bad(
                "response_target_min",
                format!("{} must be positive", c.response_target_min),
            ));
        }
        if let Some(d) = c.detention_threshold_min
            && !(d.is_finite() && d > 0.0)
        {
            return Err(bad(
                "detention_threshold_min",
                format!("{d} must be positive"),
            ));
        }
        if c.max_body_bytes == 0 {
            return Err(bad("max_body_bytes", "must be positive".into()));
        }
        if !(0..=86_400).contains(&c.clock_skew_s) {
            return Err(bad(
                "clock_skew_s",
                format!("{} must be 0 to 86400 seconds", c.clock_skew_s),
            ));
        }
        for (field, v, max) in [
            ("idempotency_window_h", c.idempotency_window_h, 24.0 * 366.0),
            ("header_timeout_s", c.header_timeout_s, 3600.0),
            ("body_timeout_s", c.body_timeout_s, 3600.0),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= max) {
                return Err(bad(field, format!("{v} must be above 0 and at most {max}")));
            }
        }
        if !(1..=1 << 20).contains(&c.stream_buffer) {
            return Err(bad("stream_buffer", "must be 1 to 1048576 messages".into()));
        }
        if c.max_connections == 0 {
            return Err(bad("max_connections", "must be positive".into()));
        }
        if c.max_relocations_per_hour == 0 {
            return Err(bad(
                "max_relocations_per_hour",
                "must be at least 1 (a unit may be asked to move once an hour)".into(),
            ));
        }
        if !(c.max_relocation_min.is_finite() && c.max_relocation_min > 0.0) {
            return Err(bad(
                "max_relocation_min",
                format!(
                    "{} must be a positive number of minutes",
                    c.max_relocation_min
                ),
            ));
        }
        if !(c.busy_fraction.is_finite() && (0.0..1.0).contains(&c.busy_fraction)) {
            return Err(bad(
                "busy_fraction",
                format!("{} must be at least 0 and below 1", c.busy_fraction),
            ));
        }
        if c.move_up_policy == crate::dispatch::policy::PolicyKind::Table
            && c.compliance_table.is_none()
        {
            return Err(bad(
                "compliance_table",
                "move_up_policy = \"table\" needs a compliance table file (from `ems optimize \
                 --model compliance-table --format json`)"
                    .into(),
            ));
        }
        let mut c = c;
        let mut origins: Vec<String> = Vec::with_capacity(c.replicas.len());
        for (k, r) in c.replicas.iter().enumerate() {
            let o = replica_origin(r.trim()).map_err(|m| bad(&format!("replicas[{k}]"), m))?;
            if origins.contains(&o) {
                return Err(bad(
                    &format!("replicas[{k}]"),
                    format!("`{o}` is listed twice"),
                ));
            }
            origins.push(o);
        }
        c.replicas = origins;
        for (k, t) in c.tokens.iter().enumerate() {
            if t.token.len() < 8 {
                return Err(bad(
                    &format!("tokens[{k}].token"),
                    format!("the token of `{}` is shorter than 8 characters", t.name),
                ));
            }
            if c.tokens[..k].iter().any(|o| o.token == t.token) {
                return Err(bad(
                    &format!("tokens[{k}].token"),
                    format!("the token of `{}` is used twice", t.name),
                ));
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #17: replica addresses are origins a browser reaches; anything else is refused
    /// naming the entry.
    #[test]
    fn issue_17_replica_addresses_are_checked() {
        let with = |list: &str| Config::parse(&format!("replicas = {list}\n{DEMO}"), "c.toml");
        let c = with(r#"["http://10.0.0.1:8080/", "HTTPS://Board.Example"]"#).unwrap();
        assert_eq!(
            c.replicas,
            ["http://10.0.0.1:8080", "https://board.example"]
        );
        for (list, field, says) in [
            (r#"["ftp://a:1"]"#, "replicas[0]", "http://"),
            (r#"["10.0.0.1:8080"]"#, "replicas[0]", "http://"),
            (r#"["http://a:1", "http://a:1/"]"#, "replicas[1]", "twice"),
            (r#"["http://a:1/board"]"#, "replicas[0]", "without a path"),
            (r#"["http://u:pw@a:1"]"#, "replicas[0]", "password"),
            (r#"["http://a b"]"#, "replicas[0]", "not an address"),
        ] {
            let e = with(list).unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(says), "{list}: {e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }
}
