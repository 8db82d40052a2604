//! The control plane over HTTP: `/__admin/*` on the server's own port, JSON in and out.
//! Each route reads its input, calls the one implementation in `control`, and writes the
//! answer; errors are `{"error": "<one sentence>"}` with 400, 401, 404, 405 or 409.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::control::{
    AccountView, ClockChange, ControlError, FillChange, OrderQuery, PriceChange, ResetConnections,
    StatusChange, MAX_ADVANCE_MS,
};
use crate::fault::Fault;
use crate::handshake::PATH;
use crate::journal::JournalQuery;
use crate::server::{HttpResponse, Shared};

/// The OpenAPI 3 document of every route here.
const OPENAPI: &str = include_str!("admin/openapi.json");

/// The largest request body read: far more than any call needs.
const MAX_BODY: usize = 1 << 20;

/// A route's answer: a status and a JSON body.
type Answer = Result<(StatusCode, Value), ControlError>;

/// Answers one control-plane request.
pub(crate) async fn handle(request: Request<Incoming>, shared: &Shared) -> HttpResponse {
    if let Some(token) = &shared.config.admin_token {
        if !authorized(&request, token) {
            return error_response(
                StatusCode::UNAUTHORIZED,
                "this control plane needs `Authorization: Bearer <token>`",
            );
        }
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return error_response(StatusCode::BAD_REQUEST, &error),
    };
    let segments: Vec<String> = path
        .trim_start_matches("/__admin")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if method == Method::GET && segments == ["openapi.json"] {
        return respond(
            StatusCode::OK,
            "application/json",
            Bytes::from_static(OPENAPI.as_bytes()),
        );
    }
    let answer = match route(&method, &segments, &query, &body, shared) {
        Some(answer) => answer,
        None => match allowed_methods(&segments) {
            Some(allowed) => {
                let mut response = error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("{method} is not a method of {path}: {allowed}"),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allowed));
                return response;
            }
            None => Err(ControlError::not_found(format!(
                "no control-plane call {path}"
            ))),
        },
    };
    match answer {
        Ok((status, value)) => respond(status, "application/json", Bytes::from(value.to_string())),
        Err(error) => error_response(
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST),
            &error.message,
        ),
    }
}

/// Whether the request carries `Authorization: Bearer <token>`.
fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    // Compared in full whatever the first difference, so timing does not tell how much of
    // a guess was right.
    given.is_some_and(|given| {
        given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    })
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, String> {
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(format!("the body is unreadable or over {MAX_BODY} bytes")),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn error_response(status: StatusCode, message: &str) -> HttpResponse {
    let body = json!({ "error": message }).to_string();
    respond(status, "application/json", Bytes::from(body))
}

/// The methods the route `segments` names answers, for a 405's `Allow`; `None` for no route.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["health" | "connections" | "openapi.json"] => "GET",
        ["clock" | "keys"] => "GET, POST",
        ["server-shutdown" | "reset"] | ["accounts", _, "events"] => "POST",
        ["connections", _, "close" | "drop" | "stall"] => "POST",
        ["faults"] => "GET, POST, DELETE",
        ["requests"] => "GET, DELETE",
        ["keys" | "faults", _] => "DELETE",
        ["accounts", _] => "GET, PUT",
        ["symbols"] => "GET",
        ["symbols", _, "price" | "status"] => "POST",
        ["orders"] => "GET",
        ["orders", _, "fill"] => "POST",
        _ => return None,
    })
}

/// The body as `T`; an empty body reads as `{}`.
fn body_as<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(format!("bad body: {e}")))
}

fn ok(value: Value) -> Answer {
    Ok((StatusCode::OK, value))
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn connection_id(text: &str) -> Result<u64, ControlError> {
    text.parse()
        .map_err(|_| ControlError::not_found(format!("no open connection {text}")))
}

/// `POST /__admin/connections/{id}/close`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /__admin/server-shutdown`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShutdownBody {
    #[serde(default)]
    connection: Option<u64>,
    #[serde(default)]
    close_after: Option<i64>,
}

/// `POST /__admin/reset`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    #[serde(default)]
    connections: ResetConnections,
}

/// The query of `GET /__admin/requests`.
fn journal_query(query: &str) -> Result<JournalQuery, ControlError> {
    let mut parsed = JournalQuery::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "method" => parsed.method = Some(value.into_owned()),
            "connection" => {
                parsed.connection = Some(value.parse().map_err(|_| {
                    ControlError::bad_request(format!("`connection` is not an id: {value:?}"))
                })?);
            }
            "limit" => {
                let limit: usize = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ControlError::bad_request(format!(
                        "`limit` is not a count of 1 or more: {value:?}"
                    ))
                })?;
                parsed.limit = Some(limit);
            }
            _ => {}
        }
    }
    Ok(parsed)
}

/// The query of `GET /__admin/orders`: `account`, `symbol`, `status`, each optional.
fn order_query(query: &str) -> Result<OrderQuery, ControlError> {
    let mut parsed = OrderQuery::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Some(value.into_owned());
        match name.as_ref() {
            "account" => parsed.account = value,
            "symbol" => parsed.symbol = value,
            "status" => parsed.status = value,
            _ => {}
        }
    }
    Ok(parsed)
}

/// The answer of the route `method` `segments` names, or `None` if there is none.
fn route(
    method: &Method,
    segments: &[&str],
    query: &str,
    body: &[u8],
    shared: &Shared,
) -> Option<Answer> {
    let m = method.as_str();
    Some(match (m, segments) {
        ("GET", ["health"]) => ok(json!({
            "status": "ok",
            "url": format!("ws://{}{}", shared.address, PATH),
        })),
        ("GET", ["clock"]) => ok(to_value(shared.clock_view())),
        ("POST", ["clock"]) => body_as::<ClockChange>(body)
            .and_then(|change| shared.change_clock(change))
            .map(|view| (StatusCode::OK, to_value(view))),
        ("GET", ["keys"]) => ok(json!({ "keys": shared.key_list() })),
        ("POST", ["keys"]) => body_as(body)
            .and_then(|key| shared.add_key(key))
            .map(|replaced| {
                let status = if replaced {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                (status, json!({ "replaced": replaced }))
            }),
        ("DELETE", ["keys", api_key]) => {
            if shared.revoke_key(api_key) {
                ok(json!({ "revoked": true }))
            } else {
                Err(ControlError::not_found(format!("no key {api_key:?}")))
            }
        }
        ("GET", ["accounts", name]) => ok(to_value(AccountView::from(&shared.account(name)))),
        ("PUT", ["accounts", name]) => body_as(body)
            .and_then(|view| shared.put_account(name, view))
            .map(|account| (StatusCode::OK, to_value(AccountView::from(&account)))),
        ("POST", ["accounts", name, "events"]) => body_as::<Value>(body)
            .and_then(|event| shared.deliver_event(name, event))
            .map(|delivered| (StatusCode::OK, json!({ "delivered": delivered }))),
        ("GET", ["symbols"]) => ok(json!({ "symbols": shared.symbol_list() })),
        ("POST", ["symbols", symbol, "price"]) => body_as::<PriceChange>(body)
            .and_then(|change| shared.set_price(symbol, &change.price))
            .map(|view| (StatusCode::OK, to_value(view))),
        ("POST", ["symbols", symbol, "status"]) => body_as::<StatusChange>(body)
            .and_then(|change| shared.set_symbol_status(symbol, change.status))
            .map(|view| (StatusCode::OK, to_value(view))),
        ("GET", ["orders"]) => order_query(query)
            .and_then(|q| shared.order_list(&q))
            .map(|orders| (StatusCode::OK, json!({ "orders": orders }))),
        ("POST", ["orders", id, "fill"]) => body_as::<FillChange>(body).and_then(|change| {
            let id = id
                .parse::<u64>()
                .map_err(|_| ControlError::not_found(format!("no order {id}")))?;
            shared
                .fill_order(id, change.qty.as_deref())
                .map(|order| (StatusCode::OK, order))
        }),
        ("GET", ["connections"]) => ok(json!({ "connections": shared.connection_list() })),
        ("POST", ["connections", id, action]) => connection_call(shared, id, action, body)?,
        ("POST", ["server-shutdown"]) => body_as::<ShutdownBody>(body).and_then(|b| {
            let close_after = match b.close_after {
                Some(ms) if !(0..=MAX_ADVANCE_MS).contains(&ms) => {
                    return Err(ControlError::bad_request(format!(
                        "`closeAfter` must be from 0 to {MAX_ADVANCE_MS} (ten years)"
                    )))
                }
                Some(ms) => Some(Duration::from_millis(ms.unsigned_abs())),
                None => None,
            };
            let told = shared.announce_shutdown(b.connection, close_after)?;
            ok(json!({ "announced": told }))
        }),
        ("POST", ["faults"]) => body_as::<Fault>(body)
            .and_then(|fault| shared.add_fault(fault))
            .map(|id| (StatusCode::CREATED, json!({ "id": id }))),
        ("GET", ["faults"]) => ok(json!({ "faults": shared.fault_list() })),
        ("DELETE", ["faults"]) => {
            shared.clear_faults();
            ok(json!({}))
        }
        ("DELETE", ["faults", id]) => match id.parse::<u64>() {
            Ok(id) if shared.remove_fault(id) => ok(json!({})),
            _ => Err(ControlError::not_found(format!("no fault rule {id}"))),
        },
        ("GET", ["requests"]) => journal_query(query)
            .map(|q| (StatusCode::OK, json!({ "requests": shared.journal(&q) }))),
        ("DELETE", ["requests"]) => {
            shared.clear_journal();
            ok(json!({}))
        }
        ("POST", ["reset"]) => body_as::<ResetBody>(body).map(|b| {
            shared.reset(b.connections);
            (StatusCode::OK, json!({}))
        }),
        _ => return None,
    })
}

/// `POST /__admin/connections/{id}/{close|drop|stall}`.
fn connection_call(shared: &Shared, id: &str, action: &str, body: &[u8]) -> Option<Answer> {
    let done = |result: Result<(), ControlError>| result.map(|()| (StatusCode::OK, json!({})));
    Some(match action {
        "close" => body_as::<CloseBody>(body).and_then(|b| {
            let id = connection_id(id)?;
            done(shared.close_connection(
                id,
                b.code.unwrap_or(1000),
                b.reason.as_deref().unwrap_or(""),
            ))
        }),
        "drop" => connection_id(id).and_then(|id| done(shared.drop_connection(id))),
        "stall" => connection_id(id).and_then(|id| done(shared.stall_connection(id))),
        _ => return None,
    })
}
