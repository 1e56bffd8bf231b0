//! Test side only, never deployed: a component that provides what Spin's
//! host gives Tailor's component, so that the component runs unchanged
//! under a plain wasm runtime (`wasmtime serve`) once composed with this
//! one (`wasm-tools compose`):
//!
//! - `fermyon:spin/sqlite@2.0.0`: each statement forwarded over the
//!   runtime's outgoing HTTP to the SQLite database the tests serve on
//!   loopback (`infra/spin/sqlite_server.py`, at `TAILOR_TEST_SQLITE`), so
//!   the component's SQL runs on real SQLite;
//! - `fermyon:spin/variables@2.0.0`: `SPIN_VARIABLE_<NAME>` environment
//!   variables, as Spin's own environment provider reads them.

#![cfg(target_arch = "wasm32")]

#[allow(missing_docs, unreachable_pub, reason = "generated bindings")]
mod bindings {
    wit_bindgen::generate!({
        world: "provider",
        path: "wit",
        generate_all,
    });
}

use base64::Engine;
use bindings::exports::fermyon::spin::sqlite::{self, QueryResult, RowResult, Value};
use bindings::exports::fermyon::spin::variables;
use serde_json::{Value as Json, json};
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

struct Provider;

/// The one database the tests serve, under the names the component opens.
struct Database {
    address: String,
}

impl sqlite::Guest for Provider {
    type Connection = Database;
}

impl sqlite::GuestConnection for Database {
    fn open(database: String) -> Result<sqlite::Connection, sqlite::Error> {
        if database != "tailor" && database != "default" {
            return Err(sqlite::Error::NoSuchDatabase);
        }
        let address = std::env::var("TAILOR_TEST_SQLITE")
            .map_err(|_| sqlite::Error::Io("TAILOR_TEST_SQLITE is not set".into()))?;
        Ok(sqlite::Connection::new(Self { address }))
    }

    fn execute(
        &self,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, sqlite::Error> {
        let body = json!({
            "statement": statement,
            "parameters": parameters.iter().map(to_json).collect::<Vec<_>>(),
        });
        let answer = post(&self.address, "/execute", &body).map_err(sqlite::Error::Io)?;
        if let Some(reason) = answer.get("err") {
            return Err(sqlite::Error::Io(
                reason.as_str().unwrap_or_default().to_owned(),
            ));
        }
        let ok = &answer["ok"];
        let columns = ok["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let rows = ok["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let values = row
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(from_json)
                    .collect::<Result<_, _>>()?;
                Ok(RowResult { values })
            })
            .collect::<Result<_, sqlite::Error>>()?;
        Ok(QueryResult { columns, rows })
    }
}

impl variables::Guest for Provider {
    fn get(name: String) -> Result<String, variables::Error> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
            .map_err(|_| variables::Error::Undefined(name))
    }
}

bindings::export!(Provider with_types_in bindings);

fn to_json(value: &Value) -> Json {
    match value {
        Value::Integer(i) => json!({ "integer": i }),
        Value::Real(r) => json!({ "real": r }),
        Value::Text(t) => json!({ "text": t }),
        Value::Blob(b) => json!({ "blob": base64::engine::general_purpose::STANDARD.encode(b) }),
        Value::Null => json!("null"),
    }
}

fn from_json(value: &Json) -> Result<Value, sqlite::Error> {
    let bad = || sqlite::Error::Io(format!("not a value: {value}"));
    if value == "null" {
        return Ok(Value::Null);
    }
    let (kind, v) = value
        .as_object()
        .and_then(|o| o.iter().next())
        .ok_or_else(bad)?;
    Ok(match kind.as_str() {
        "integer" => Value::Integer(v.as_i64().ok_or_else(bad)?),
        "real" => Value::Real(v.as_f64().ok_or_else(bad)?),
        "text" => Value::Text(v.as_str().ok_or_else(bad)?.to_owned()),
        "blob" => Value::Blob(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().ok_or_else(bad)?)
                .map_err(|_| bad())?,
        ),
        _ => return Err(bad()),
    })
}

/// POSTs `body` as JSON to `http://{address}{path}`; the JSON answer.
fn post(address: &str, path: &str, body: &Json) -> Result<Json, String> {
    let data = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    let headers = Fields::from_list(&[
        ("content-type".to_owned(), b"application/json".to_vec()),
        (
            "content-length".to_owned(),
            data.len().to_string().into_bytes(),
        ),
    ])
    .map_err(|e| format!("headers: {e:?}"))?;
    let request = OutgoingRequest::new(headers);
    let set = [
        request.set_method(&Method::Post),
        request.set_scheme(Some(&Scheme::Http)),
        request.set_authority(Some(address)),
        request.set_path_with_query(Some(path)),
    ];
    if set.iter().any(Result::is_err) {
        return Err("the request could not be addressed".into());
    }
    // The request goes out first and its body after: the body is streamed
    // to the connection, so writing more than its buffer holds before the
    // request is sent would wait forever.
    let outgoing = request.body().map_err(|()| "no request body".to_owned())?;
    let stream = outgoing.write().map_err(|()| "no body stream".to_owned())?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("send: {e:?}"))?;
    for chunk in data.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| format!("write: {e:?}"))?;
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("finish: {e:?}"))?;
    let response = loop {
        if let Some(answer) = pending.get() {
            break answer
                .map_err(|()| "response taken twice".to_owned())?
                .map_err(|e| format!("send: {e:?}"))?;
        }
        pending.subscribe().block();
    };
    if response.status() != 200 {
        return Err(format!("the database answered {}", response.status()));
    }
    let incoming = response
        .consume()
        .map_err(|()| "no response body".to_owned())?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| "no response stream".to_owned())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend(chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(format!("read: {e:?}")),
            }
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
