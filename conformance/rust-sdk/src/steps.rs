//! Steps 1-6 of the connector contract, each through the connector's public API on one client.
//! Each step returns what it saw worth a mention on its PASS line, or the error that fails it.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use binance_sdk::common::websocket::WebsocketStream;
use binance_sdk::config::{ConfigurationWebsocketApi, PrivateKey};
use binance_sdk::errors::WebsocketError;
use binance_sdk::models::WebsocketEvent;
use binance_sdk::spot::SpotWsApi;
use binance_sdk::spot::websocket_api::{
    AccountStatusParams, OrderCancelParams, OrderPlaceParams, OrderPlaceSideEnum,
    OrderPlaceTimeInForceEnum, OrderPlaceTypeEnum, SessionLogonParams, SessionLogoutParams,
    SessionStatusParams, UserDataStreamEventsResponse, UserDataStreamSubscribeParams, WebsocketApi,
    WebsocketApiHandle,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::admin::Admin;
use crate::inbox::Inbox;

/// The demo key: test material registered by the mock at start-up, public on purpose. Its
/// account is named after it.
pub const DEMO_API_KEY: &str = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q";

/// The driver's state: one connector client, its connection once step 1 made it, what the
/// connector handed to the driver's callbacks, and the mock's control plane.
pub struct Run {
    admin: Admin,
    client: WebsocketApiHandle,
    connection: Option<WebsocketApi>,
    /// Every WebSocket event the connector reports (`subscribe_on_ws_events`): each frame as
    /// text, opens, closes, errors. The only place it lets a user see `serverShutdown`.
    frames: Inbox<WebsocketEvent>,
    frames_tx: UnboundedSender<WebsocketEvent>,
    /// User Data Stream events, as the connector parsed them for the stream's handler.
    events: Inbox<UserDataStreamEventsResponse>,
    events_tx: UnboundedSender<UserDataStreamEventsResponse>,
    stream: Option<Arc<WebsocketStream<UserDataStreamEventsResponse>>>,
    /// The connection step 5 had the mock shut down.
    shut_down: Option<i64>,
}

impl Run {
    /// Resets the mock (the driver must not depend on what ran before it) and configures the
    /// connector for `ws_url` with the Ed25519 key in `key_path`.
    pub async fn new(ws_url: &str, key_path: &str) -> Result<Self> {
        let admin = Admin::for_ws_url(ws_url)?;
        admin.reset(false).await?;

        let config = ConfigurationWebsocketApi::builder()
            .api_key(DEMO_API_KEY)
            .private_key(PrivateKey::File(key_path.to_owned()))
            .ws_url(ws_url)
            .timeout(5000)
            .reconnect_delay(1000)
            .build()
            .context("ConfigurationWebsocketApi")?;
        // `from_config` keeps `ws_url`; `production`, `testnet` and `demo` replace it.
        let client = SpotWsApi::from_config(config);

        let (frames, frames_tx) = Inbox::new();
        let (events, events_tx) = Inbox::new();
        Ok(Self {
            admin,
            client,
            connection: None,
            frames,
            frames_tx,
            events,
            events_tx,
            stream: None,
            shut_down: None,
        })
    }

    fn connection(&self) -> Result<&WebsocketApi> {
        self.connection
            .as_ref()
            .context("no connection: step 1 did not connect")
    }

    /// 1: connect, `session.logon`, `session.status` shows the key, `session.logout`,
    /// `session.status` shows null.
    pub async fn session_logon_status_logout(&mut self) -> Result<String> {
        let connection = self.client.connect().await.context("connect")?;
        let frames_tx = self.frames_tx.clone();
        connection.subscribe_on_ws_events(move |event| {
            let _ = frames_tx.send(event);
        });
        self.connection = Some(connection);
        let connection = self.connection()?;

        let logon = only(
            connection
                .session_logon(SessionLogonParams::default())
                .await,
        )?;
        ensure!(
            logon.api_key.as_deref() == Some(DEMO_API_KEY),
            "session.logon: apiKey {:?}",
            logon.api_key
        );
        ensure!(
            logon.authorized_since.is_some(),
            "session.logon: no authorizedSince"
        );

        let status = connection
            .session_status(SessionStatusParams::default())
            .await?
            .data()?;
        ensure!(
            status.api_key.as_deref() == Some(DEMO_API_KEY),
            "session.status: apiKey {:?}",
            status.api_key
        );

        let logout = only(
            connection
                .session_logout(SessionLogoutParams::default())
                .await,
        )?;
        ensure!(
            logout.api_key.is_none(),
            "session.logout: apiKey {:?}",
            logout.api_key
        );

        let after = connection
            .session_status(SessionStatusParams::default())
            .await?
            .data()?;
        ensure!(
            after.api_key.is_none(),
            "session.status after logout: apiKey {:?}",
            after.api_key
        );
        ensure!(
            after.authorized_since.is_none(),
            "session.status after logout: authorizedSince {:?}",
            after.authorized_since
        );
        Ok(String::new())
    }

    /// 2: log on again; `account.status` goes without `apiKey` and `signature`: the session
    /// signs it.
    pub async fn account_status_signed_by_session(&mut self) -> Result<String> {
        let connection = self.connection()?;
        only(
            connection
                .session_logon(SessionLogonParams::default())
                .await,
        )?;
        let account = connection
            .account_status(AccountStatusParams::default())
            .await?
            .data()?;
        let free = |asset: &str| {
            account
                .balances
                .iter()
                .flatten()
                .find(|b| b.asset.as_deref() == Some(asset))
                .and_then(|b| b.free.clone())
        };
        ensure!(
            free("BTC").as_deref() == Some("1.00000000")
                && free("USDT").as_deref() == Some("10000.00000000"),
            "account.status balances {:?}",
            account.balances
        );

        // The journal shows what the connector sent: the session's key ran it, no credentials.
        let sent = self.admin.last_request("account.status").await?;
        let params = request_params(&sent)?;
        ensure!(
            params.get("apiKey").is_none()
                && params.get("signature").is_none()
                && params["timestamp"].is_i64(),
            "account.status sent with params {params}"
        );
        ensure!(
            sent["apiKey"] == DEMO_API_KEY && sent["signature"].is_null(),
            "journal entry {sent}"
        );
        Ok(format!("sent with params {params}"))
    }

    /// 3: `userDataStream.subscribe`; a `balanceUpdate` pushed through the control plane
    /// reaches the stream's handler.
    pub async fn balance_update_delivered(&mut self) -> Result<String> {
        let subscription = self.subscribe().await?;
        let pushed = self
            .admin
            .post(
                &format!("/accounts/{DEMO_API_KEY}/events"),
                json!({"e": "balanceUpdate", "a": "BTC", "d": "0.10000000", "T": 1_700_000_000_000_i64}),
            )
            .await?;
        ensure!(
            pushed["delivered"] == 1,
            "the mock delivered it to {pushed}"
        );
        let event = self
            .events
            .wait_for("balanceUpdate", |e| {
                matches!(e, UserDataStreamEventsResponse::BalanceUpdate(_))
            })
            .await?;
        let UserDataStreamEventsResponse::BalanceUpdate(update) = event else {
            unreachable!()
        };
        ensure!(
            update.a.as_deref() == Some("BTC") && update.d.as_deref() == Some("0.10000000"),
            "balanceUpdate {update:?}"
        );
        Ok(format!(
            "subscriptionId {subscription}, BalanceUpdate {{ a: BTC, d: 0.10000000 }}"
        ))
    }

    /// 4: the mock's clock frozen 10 s ahead: the next signed request gets -1021, which the
    /// connector returns as `WebsocketError::ResponseError`. The clock is put back whatever
    /// happened, with the connections kept, for the steps after.
    pub async fn timestamp_outside_recv_window(&mut self) -> Result<String> {
        let now = self.admin.get("/clock").await?["now"]
            .as_i64()
            .context("GET /__admin/clock: no now")?;
        self.admin
            .post("/clock", json!({"set": now + 10_000, "freeze": true}))
            .await?;
        let outcome = self
            .connection()?
            .account_status(AccountStatusParams::default())
            .await;
        // Read before the reset, which clears the journal.
        let sent = self.admin.last_request("account.status").await;
        self.admin.reset(true).await?;

        let error = match outcome {
            Ok(response) => bail!("account.status answered {}", response.raw),
            Err(error) => error,
        };
        let Some(WebsocketError::ResponseError {
            code: -1021,
            message,
            ..
        }) = error.downcast_ref::<WebsocketError>()
        else {
            bail!("expected ResponseError with code -1021, got {error:?}");
        };
        // The connector stamps requests with the host's clock and does not correct it.
        let timestamp = request_params(&sent?)?["timestamp"]
            .as_i64()
            .context("account.status sent without timestamp")?;
        let behind = now + 10_000 - timestamp;
        Ok(format!(
            "ResponseError {{ code: -1021, message: {message:?} }}; timestamp sent {behind} ms behind the mock's clock"
        ))
    }

    /// 5: `serverShutdown` for the driver's connection, closed with 1001 a second later. The
    /// connector hands the frame to the ws-events handlers and logs a warning; it means to renew
    /// the connection (open a new one, then close the old), but drops the renewal (connector
    /// bug, see the notes): no new connection is opened before the server closes the old one.
    pub async fn server_shutdown(&mut self) -> Result<String> {
        let before = self.own_connection().await?;
        let id = before["id"].as_i64().context("connection without id")?;
        self.shut_down = Some(id);
        self.frames.clear();
        self.admin
            .post(
                "/server-shutdown",
                json!({"connection": id, "closeAfter": 1000}),
            )
            .await?;

        self.frames
            .wait_for("serverShutdown frame", |f| {
                matches!(f, WebsocketEvent::Message(text) if text.contains(r#""e":"serverShutdown""#))
            })
            .await?;
        let closed = self
            .frames
            .wait_for("close frame", |f| matches!(f, WebsocketEvent::Close(..)))
            .await?;
        ensure!(
            matches!(closed, WebsocketEvent::Close(1001, _)),
            "closed with {closed:?}, not 1001"
        );

        // A renewal would have opened its connection within milliseconds of the frame; the
        // server closed the old one a second later.
        let others: Vec<Value> = self
            .admin
            .connections()
            .await?
            .into_iter()
            .filter(|c| c["id"] != id)
            .collect();
        ensure!(
            others.is_empty(),
            "the connector opened {others:?} before the close: it renews on serverShutdown now, \
             which the pinned version does not do; update the driver and the notes"
        );
        Ok("frame handed to the ws-events handler, renewal dropped: no new connection before the 1001 close".to_owned())
    }

    /// 5b: between the server's close and the connector's reconnect (`reconnect_delay` later),
    /// a request fails at once with `WebsocketError::NotConnected`.
    pub async fn request_while_reconnecting(&mut self) -> Result<String> {
        ensure!(self.shut_down.is_some(), "step 5 did not run");
        let outcome = self
            .connection()?
            .session_status(SessionStatusParams::default())
            .await;
        match outcome {
            Err(error)
                if matches!(
                    error.downcast_ref::<WebsocketError>(),
                    Some(WebsocketError::NotConnected)
                ) =>
            {
                Ok("session.status: NotConnected".to_owned())
            }
            Err(error) => bail!("expected WebsocketError::NotConnected, got {error:?}"),
            Ok(response) => bail!(
                "session.status answered {} before the reconnect",
                response.raw
            ),
        }
    }

    /// 5c: the connector reconnects after `reconnect_delay` and logs on again by itself
    /// (`auto_session_relogon`); the User Data Stream subscription is not restored.
    pub async fn reconnected_and_logged_on(&mut self) -> Result<String> {
        let old = self.shut_down.context("step 5 did not run")?;
        // The connector's own session.logon on the new connection: its reply is the sign (a
        // session.status reply looks the same, and the driver has sent none since step 5b).
        self.frames
            .wait_for(
                "session.logon reply on the new connection",
                |f| matches!(f, WebsocketEvent::Message(text) if is_logon_reply(text)),
            )
            .await?;
        let new = self.own_connection().await?;
        ensure!(new["id"] != old, "the demo key's connection is still {old}");

        let status = self
            .connection()?
            .session_status(SessionStatusParams::default())
            .await?
            .data()?;
        ensure!(
            status.api_key.as_deref() == Some(DEMO_API_KEY),
            "session.status after reconnect: {:?}",
            status.api_key
        );
        ensure!(
            new["subscriptions"].as_array().is_some_and(Vec::is_empty),
            "subscriptions after reconnect {}",
            new["subscriptions"]
        );
        Ok(format!(
            "connection {} logged on again; subscriptions [] (step 6 subscribes again)",
            new["id"]
        ))
    }

    /// 6: a LIMIT buy under the market rests: NEW on the stream; cancelled: CANCELED.
    pub async fn order_place_and_cancel(&mut self) -> Result<String> {
        self.ensure_subscribed().await?;
        let placed = self
            .connection()?
            .order_place(resting_buy()?)
            .await?
            .data()?;
        ensure!(
            placed.status.as_deref() == Some("NEW"),
            "order.place status {:?}",
            placed.status
        );
        let order_id = placed.order_id.context("order.place without orderId")?;
        self.execution_report(order_id, "NEW").await?;

        let cancel = OrderCancelParams::builder("BTCUSDT".to_owned())
            .order_id(order_id)
            .build()?;
        let canceled = self.connection()?.order_cancel(cancel).await?.data()?;
        ensure!(
            canceled.status.as_deref() == Some("CANCELED"),
            "order.cancel status {:?}",
            canceled.status
        );
        self.execution_report(order_id, "CANCELED").await?;
        Ok(format!("orderId {order_id}"))
    }

    /// 6b: a second resting order filled through the control plane: the TRADE report follows.
    pub async fn order_filled_through_control_plane(&mut self) -> Result<String> {
        self.ensure_subscribed().await?;
        let placed = self
            .connection()?
            .order_place(resting_buy()?)
            .await?
            .data()?;
        let order_id = placed.order_id.context("order.place without orderId")?;
        let filled = self
            .admin
            .post(&format!("/orders/{order_id}/fill"), json!({}))
            .await?;
        ensure!(filled["status"] == "FILLED", "fill answered {filled}");
        let trade = self.execution_report(order_id, "TRADE").await?;
        ensure!(
            trade.x_uppercase.as_deref() == Some("FILLED")
                && trade.l.as_deref() == Some("0.00100000"),
            "TRADE report {trade:?}"
        );
        Ok(format!("orderId {order_id}"))
    }

    /// Closes the connection (a failure here fails no step: the mock resets at the next start).
    pub async fn disconnect(&mut self) {
        if let Some(connection) = self.connection.take()
            && let Err(error) = connection.disconnect().await
        {
            eprintln!("disconnect: {error:#}");
        }
    }

    /// `userDataStream.subscribe`, the stream's handler forwarding into `events`; returns the
    /// subscription id.
    async fn subscribe(&mut self) -> Result<i64> {
        let (response, stream) = self
            .connection()?
            .user_data_stream_subscribe(UserDataStreamSubscribeParams::default())
            .await?;
        let subscription = response
            .data()?
            .subscription_id
            .context("no subscriptionId")?;
        let events_tx = self.events_tx.clone();
        stream.on_message(move |event| {
            let _ = events_tx.send(event);
        });
        // The connector hands every User Data Stream event to every handler it holds, whatever
        // the subscription: the previous handler goes, or each event would arrive twice.
        if let Some(previous) = self.stream.replace(stream) {
            previous.unsubscribe().await;
        }
        Ok(subscription)
    }

    /// Subscribes again if the driver's connection has no subscription (as after a reconnect).
    async fn ensure_subscribed(&mut self) -> Result<()> {
        let own = self.own_connection().await?;
        if own["subscriptions"].as_array().is_none_or(Vec::is_empty) {
            self.subscribe().await?;
        }
        Ok(())
    }

    /// The one connection the mock lists for the demo key: the driver's.
    async fn own_connection(&self) -> Result<Value> {
        let connections = self.admin.connections().await?;
        let own: Vec<&Value> = connections
            .iter()
            .filter(|c| c["apiKey"] == DEMO_API_KEY)
            .collect();
        match own.as_slice() {
            [one] => Ok((*one).clone()),
            _ => bail!(
                "expected one connection logged on with the demo key, the mock lists {connections:?}"
            ),
        }
    }

    /// The executionReport of order `order_id` with execution type `x`.
    async fn execution_report(
        &mut self,
        order_id: i64,
        x: &str,
    ) -> Result<Box<binance_sdk::spot::websocket_api::ExecutionReport>> {
        let event = self
            .events
            .wait_for(&format!("{x} executionReport of order {order_id}"), |e| {
                matches!(e, UserDataStreamEventsResponse::ExecutionReport(r) if r.i == Some(order_id) && r.x.as_deref() == Some(x))
            })
            .await?;
        let UserDataStreamEventsResponse::ExecutionReport(report) = event else {
            unreachable!()
        };
        Ok(report)
    }
}

/// The LIMIT order steps 6 and 6b place: a buy under the market (60000), so it rests.
fn resting_buy() -> Result<OrderPlaceParams> {
    Ok(OrderPlaceParams::builder(
        "BTCUSDT".to_owned(),
        OrderPlaceSideEnum::Buy,
        OrderPlaceTypeEnum::Limit,
    )
    .time_in_force(OrderPlaceTimeInForceEnum::Gtc)
    .price(Decimal::from_str("59000")?)
    .quantity(Decimal::from_str("0.001")?)
    .build()?)
}

/// Session methods answer once per pooled connection: a list, of one in single mode.
fn only<T: serde::de::DeserializeOwned>(
    responses: Result<Vec<binance_sdk::models::WebsocketApiResponse<Box<T>>>>,
) -> Result<Box<T>> {
    let mut responses = responses?;
    ensure!(
        responses.len() == 1,
        "{} responses, expected one",
        responses.len()
    );
    Ok(responses.remove(0).data()?)
}

/// Whether a frame is a successful `session.logon` reply for the demo key.
fn is_logon_reply(text: &str) -> bool {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    frame["status"] == 200
        && frame["result"]["apiKey"] == DEMO_API_KEY
        && frame["result"]["authorizedSince"].is_i64()
}

/// The `params` of a journal entry's request, as the connector sent them.
fn request_params(entry: &Value) -> Result<Value> {
    let text = entry["request"]
        .as_str()
        .context("journal entry without request")?;
    let request: Value = serde_json::from_str(text)?;
    Ok(request["params"].clone())
}
