//! Typed query strings: [`Params<T>`] reads `?a=1&b=x&b=y` into a `T` that derives
//! `Deserialize` (with `deny_unknown_fields`) and utoipa's `IntoParams`, so one struct is both
//! the parser and the OpenAPI description of a route's query parameters.
//!
//! This module owns the decoding and its error message only: range checks and meaning belong
//! to the handler. Repeated keys fill `Vec` fields (`serde_html_form`; axum's own `Query`
//! cannot), and a value that does not decode is named by its parameter
//! (`serde_path_to_error`), as a 400 in the API's JSON error shape.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A query string decoded into `T`; a 400 naming the parameter when it does not decode.
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        decode(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// Decodes a query string (without the `?`) into `T`.
fn decode<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let why = e.into_inner();
        ApiError::BadRequest(if path == "." || path.is_empty() {
            format!("query: {why}")
        } else {
            format!("query parameter {path}: {why}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Q {
        limit: Option<u64>,
        #[serde(default)]
        add: Vec<String>,
    }

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn repeated_keys_fill_a_list_and_errors_name_the_parameter() {
        let q: Q = decode("add=1,2&add=3,4&limit=5").unwrap();
        assert_eq!(q.add, ["1,2", "3,4"]);
        assert_eq!(q.limit, Some(5));
        let q: Q = decode("").unwrap();
        assert_eq!((q.limit, q.add.len()), (None, 0));
        let m = message(decode::<Q>("limit=x").unwrap_err());
        assert!(m.contains("limit"), "{m}");
        let m = message(decode::<Q>("page=2").unwrap_err());
        assert!(m.contains("unknown field `page`"), "{m}");
        assert!(decode::<Q>("limit=1&limit=2").is_err(), "one value only");
    }
}
