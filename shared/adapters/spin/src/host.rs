//! Spin's side of the component (wasm only): its SQLite connection as the
//! store's [`Database`], its variables as the settings' environment, and
//! the request served.

use spin_sdk::sqlite::{Connection, Value};
use tailor_runtime::Env;

use crate::DATABASE;
use crate::platform::SpinPlatform;
use crate::sql::{Database, SqlError, SqlValue};

/// Spin's SQLite connection.
pub struct SpinDatabase(Connection);

impl Database for SpinDatabase {
    fn execute(
        &self,
        statement: &str,
        parameters: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, SqlError> {
        let parameters: Vec<Value> = parameters.iter().map(to_spin).collect();
        let result = self
            .0
            .execute(statement, &parameters)
            .map_err(|e| SqlError(e.to_string()))?;
        Ok(result
            .rows
            .into_iter()
            .map(|row| row.values.into_iter().map(from_spin).collect())
            .collect())
    }
}

fn to_spin(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Real(r) => Value::Real(*r),
        SqlValue::Text(t) => Value::Text(t.clone()),
        SqlValue::Blob(b) => Value::Blob(b.clone()),
        SqlValue::Null => Value::Null,
    }
}

fn from_spin(value: Value) -> SqlValue {
    match value {
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(r) => SqlValue::Real(r),
        Value::Text(t) => SqlValue::Text(t),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    }
}

/// A runtime variable's value from the component's Spin variables: the
/// name without `TAILOR_`, in lower case (`TAILOR_TOKEN_KEY` is
/// `token_key`).
#[must_use]
pub fn variable(name: &str) -> Option<String> {
    let spin_name = name.strip_prefix("TAILOR_")?.to_ascii_lowercase();
    spin_sdk::variables::get(&spin_name).ok()
}

/// Answers one request: the platform built from the variables, over the
/// application's database. A platform that cannot start answers 500 and
/// logs why.
pub async fn serve(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    tailor_runtime::logs::init(tailor_runtime::logs::LogTarget::Collector);
    let platform = Connection::open(DATABASE)
        .map_err(|e| format!("the {DATABASE:?} database: {e}"))
        .and_then(|connection| {
            SpinPlatform::open(&Env(variable), SpinDatabase(connection)).map_err(|e| e.to_string())
        });
    match platform {
        Ok(platform) => platform.serve(request).await,
        Err(e) => {
            tracing::error!(error = %e, "the component cannot start");
            let mut response = http::Response::new(
                br#"{"error":"the service is misconfigured; see its logs"}"#.to_vec(),
            );
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}
