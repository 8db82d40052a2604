//! The order methods over real sockets: `order.place` (each type, time in force and response
//! type), `order.status`, `order.cancel`, `openOrders.status`, `openOrders.cancelAll`,
//! `allOrders`, `myTrades`; the events they cause on subscribed connections, before or after
//! the reply; fills on price moves and through the control plane; the ORDERS counts and
//! -1015; the weight of zero on success; the state a reconnecting client finds.

mod common;

use common::admin::Admin;
use common::*;
use mock_server::{Account, Balance, MockServer, MockServerBuilder};
use serde_json::{json, Value};

/// The demo key's account: the one every test trades with.
fn demo() -> TestKey {
    TestKey::demo()
}

/// A request of `method` on a logged-on session: `params` and `timestamp` T0.
fn request(id: &str, method: &str, mut params: Value) -> String {
    params["timestamp"] = json!(T0);
    json!({"id": id, "method": method, "params": params}).to_string()
}

/// A connection logged on with the demo key.
async fn logged_on(server: &MockServer) -> Client {
    let mut client = Client::connect(server).await;
    let reply = client.request_json(&demo().logon("\"logon\"", T0)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    client
}

/// A connection logged on and subscribed to the demo account's User Data Stream.
async fn subscribed(server: &MockServer) -> Client {
    let mut client = logged_on(server).await;
    let reply = client
        .request_json(r#"{"id":"sub","method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(reply["status"], 200, "{reply}");
    client
}

async fn server_with(builder: MockServerBuilder) -> MockServer {
    start(builder).await
}

async fn server() -> MockServer {
    frozen_server().await
}

/// A server where the demo account holds 10 BTC and 1,000,000 USDT.
async fn rich_server() -> MockServer {
    let account = Account::fixture(&demo().api_key).with_balances(vec![
        Balance::new("BTC", "10.00000000", "0.00000000"),
        Balance::new("USDT", "1000000.00000000", "0.00000000"),
        Balance::new("BNB", "0.00000000", "0.00000000"),
    ]);
    start(frozen_builder().account(&demo().api_key, account)).await
}

/// Sends `text` and parses the reply.
async fn call(client: &mut Client, text: &str) -> Value {
    client.request_json(text).await
}

/// The next frame parsed.
async fn next(client: &mut Client) -> Value {
    serde_json::from_str(&client.recv().await).expect("JSON")
}

fn place(id: &str, params: Value) -> String {
    request(id, "order.place", params)
}

fn limit_buy(price: &str, qty: &str) -> Value {
    json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
           "price": price, "quantity": qty})
}

const REQUEST_WEIGHT_4: &str = r#"{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":4}"#;

const ORDERS_ONE: &str = r#"{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":160000,"count":1}"#;

#[tokio::test]
async fn a_stop_loss_limit_is_acknowledged_with_its_order_counts_and_no_weight() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    let params = json!({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
        "timeInForce": "GTC", "price": "55000.00", "stopPrice": "55000.00", "quantity": "0.10000"});
    let reply = client.request(&place("p", params)).await;
    // Connecting weighs 2, logging on 2, a successful order nothing.
    assert_eq!(
        reply,
        format!(
            r#"{{"id":"p","status":200,"result":{{"symbol":"BTCUSDT","orderId":1,"orderListId":-1,"clientOrderId":"mock000000000000000001","transactTime":{T0}}},"rateLimits":[{ORDERS_ONE},{}]}}"#,
            REQUEST_WEIGHT_4
        )
    );
}

#[tokio::test]
async fn a_resting_limit_buy_answers_full_and_order_status_shows_it() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    let reply = call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    let result = &reply["result"];
    assert_eq!(result["status"], "NEW");
    assert_eq!(result["fills"], json!([]));
    assert_eq!(result["workingTime"], T0);
    let status = client
        .request(&request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "orderId": 1, "returnRateLimits": false}),
        ))
        .await;
    assert_eq!(
        status,
        format!(
            r#"{{"id":"s","status":200,"result":{{"symbol":"BTCUSDT","orderId":1,"orderListId":-1,"clientOrderId":"mock000000000000000001","price":"59000.00000000","origQty":"0.10000000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.00000000","icebergQty":"0.00000000","time":{T0},"updateTime":{T0},"isWorking":true,"workingTime":{T0},"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"EXPIRE_MAKER"}}}}"#
        )
    );
}

#[tokio::test]
async fn order_status_of_an_order_the_account_does_not_have_is_minus_2013() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    let reply = client
        .request(&request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "orderId": 7, "returnRateLimits": false}),
        ))
        .await;
    assert_eq!(
        reply,
        r#"{"id":"s","status":400,"error":{"code":-2013,"msg":"Order does not exist."}}"#
    );
    let reply = call(
        &mut client,
        &request("s", "order.status", json!({"symbol": "BTCUSDT"})),
    )
    .await;
    assert_eq!(reply["error"]["code"], -1102, "{reply}");
}

#[tokio::test]
async fn a_market_buy_fills_against_the_book_and_the_subscriber_sees_new_then_trade() {
    let server = rich_server().await;
    let mut client = subscribed(&server).await;
    let params =
        json!({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1.50000"});
    let reply = call(&mut client, &place("m", params)).await;
    let result = &reply["result"];
    assert_eq!(result["status"], "FILLED", "{reply}");
    assert_eq!(result["executedQty"], "1.50000000");
    let fills = result["fills"].as_array().expect("FULL by default");
    assert_eq!(fills.len(), 2, "one level of 1 BTC, then half the next");
    assert_eq!(fills[0]["price"], "60000.01000000");
    assert_eq!(fills[1]["price"], "60000.02000000");
    // By default the events follow the reply: NEW, a TRADE per level, the position.
    let new = next(&mut client).await;
    assert_eq!(new["subscriptionId"], 0);
    assert_eq!(new["event"]["e"], "executionReport");
    assert_eq!(new["event"]["x"], "NEW");
    for level in ["60000.01000000", "60000.02000000"] {
        let trade = next(&mut client).await;
        assert_eq!(trade["event"]["x"], "TRADE");
        assert_eq!(trade["event"]["L"], level);
    }
    let position = next(&mut client).await;
    assert_eq!(position["event"]["e"], "outboundAccountPosition");
}

#[tokio::test]
async fn events_go_before_the_reply_when_the_server_is_told_so() {
    for first in [false, true] {
        let server = server_with(frozen_builder().events_before_reply(first)).await;
        let mut client = subscribed(&server).await;
        client
            .send(&place("p", limit_buy("59000.00", "0.10000")))
            .await;
        let frames = [
            next(&mut client).await,
            next(&mut client).await,
            next(&mut client).await,
        ];
        let kinds: Vec<&str> = frames
            .iter()
            .map(|f| f["event"]["e"].as_str().unwrap_or("reply"))
            .collect();
        if first {
            assert_eq!(
                kinds,
                ["executionReport", "outboundAccountPosition", "reply"]
            );
        } else {
            assert_eq!(
                kinds,
                ["reply", "executionReport", "outboundAccountPosition"]
            );
        }
    }
}

#[tokio::test]
async fn microsecond_connections_get_times_in_microseconds_in_replies_and_events() {
    let server = server().await;
    let mut client = Client::connect_with_query(&server, "timeUnit=MICROSECOND").await;
    let reply = call(&mut client, &demo().logon("\"logon\"", T0)).await;
    assert_eq!(reply["status"], 200, "{reply}");
    call(
        &mut client,
        r#"{"id":"sub","method":"userDataStream.subscribe"}"#,
    )
    .await;
    let reply = call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    assert_eq!(reply["result"]["transactTime"], T0 * 1000);
    assert_eq!(reply["result"]["workingTime"], T0 * 1000);
    let new = next(&mut client).await;
    for time in ["E", "T", "O", "W"] {
        assert_eq!(new["event"][time], T0 * 1000, "{time}");
    }
    // A price move's fills reach it in microseconds too.
    next(&mut client).await;
    Admin::new(&server)
        .post(
            "/__admin/symbols/BTCUSDT/price",
            json!({"price": "58000.00"}),
        )
        .await
        .ok();
    let trade = next(&mut client).await;
    assert_eq!(trade["event"]["x"], "TRADE", "{trade}");
    assert_eq!(trade["event"]["E"], T0 * 1000);
    let position = next(&mut client).await;
    assert_eq!(position["event"]["u"], T0 * 1000, "{position}");
}

#[tokio::test]
async fn a_price_moved_through_the_control_plane_fills_a_resting_order() {
    let server = server().await;
    let mut client = subscribed(&server).await;
    call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    next(&mut client).await;
    next(&mut client).await;
    Admin::new(&server)
        .post(
            "/__admin/symbols/BTCUSDT/price",
            json!({"price": "58000.00"}),
        )
        .await
        .ok();
    let trade = next(&mut client).await;
    assert_eq!(trade["event"]["x"], "TRADE");
    assert_eq!(trade["event"]["X"], "FILLED");
    assert_eq!(trade["event"]["L"], "59000.00000000");
    assert_eq!(trade["event"]["m"], true);
    let position = next(&mut client).await;
    assert_eq!(position["event"]["e"], "outboundAccountPosition");
    let status = call(
        &mut client,
        &request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "orderId": 1}),
        ),
    )
    .await;
    assert_eq!(status["result"]["status"], "FILLED");
    let account = call(&mut client, &request("a", "account.status", json!({}))).await;
    let balances = &account["result"]["balances"];
    assert_eq!(
        balances[0],
        json!({"asset": "BTC", "free": "1.09990000", "locked": "0.00000000"})
    );
    assert_eq!(
        balances[1],
        json!({"asset": "USDT", "free": "4100.00000000", "locked": "0.00000000"})
    );
}

fn cancel(id: &str, params: Value) -> String {
    request(id, "order.cancel", params)
}

#[tokio::test]
async fn order_cancel_by_client_order_id_answers_the_canceled_order_and_reports_it() {
    let server = server().await;
    let mut client = subscribed(&server).await;
    let mut params = limit_buy("59000.00", "0.10000");
    params["newClientOrderId"] = json!("mine");
    call(&mut client, &place("p", params)).await;
    next(&mut client).await;
    next(&mut client).await;
    let reply = client
        .request(&cancel(
            "c",
            json!({"symbol": "BTCUSDT", "origClientOrderId": "mine", "newClientOrderId": "undo",
                   "returnRateLimits": false}),
        ))
        .await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":"c","status":200,"result":{{"symbol":"BTCUSDT","origClientOrderId":"mine","orderId":1,"orderListId":-1,"clientOrderId":"undo","transactTime":{T0},"price":"59000.00000000","origQty":"0.10000000","executedQty":"0.00000000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY","selfTradePreventionMode":"EXPIRE_MAKER"}}}}"#
        )
    );
    let report = next(&mut client).await;
    assert_eq!(report["event"]["x"], "CANCELED");
    assert_eq!(report["event"]["c"], "undo");
    assert_eq!(report["event"]["C"], "mine");
    let position = next(&mut client).await;
    assert_eq!(
        position["event"]["B"][1]["l"], "0.00000000",
        "the lock is freed"
    );
    // Canceled once, it is unknown to a second cancel.
    let again = call(
        &mut client,
        &cancel(
            "c2",
            json!({"symbol": "BTCUSDT", "orderId": 1, "returnRateLimits": false}),
        ),
    )
    .await;
    assert_eq!(
        again["error"],
        json!({"code": -2011, "msg": "Unknown order sent."})
    );
}

#[tokio::test]
async fn a_successful_cancel_weighs_nothing_and_a_failed_one_its_documented_weight() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    let ok = call(
        &mut client,
        &cancel("c", json!({"symbol": "BTCUSDT", "orderId": 1})),
    )
    .await;
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["rateLimits"][0]["count"], 4, "{ok}");
    let failed = call(
        &mut client,
        &cancel("c", json!({"symbol": "BTCUSDT", "orderId": 1})),
    )
    .await;
    assert_eq!(failed["status"], 400);
    assert_eq!(failed["rateLimits"][0]["count"], 5, "{failed}");
}

#[tokio::test]
async fn cancel_restrictions_keep_an_order_of_the_other_status() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    let refused = call(
        &mut client,
        &cancel(
            "c",
            json!({"symbol": "BTCUSDT", "orderId": 1, "cancelRestrictions": "ONLY_PARTIALLY_FILLED"}),
        ),
    )
    .await;
    assert_eq!(
        refused["error"],
        json!({"code": -2011, "msg": "Order was not canceled due to cancel restrictions."})
    );
    let done = call(
        &mut client,
        &cancel(
            "c",
            json!({"symbol": "BTCUSDT", "orderId": 1, "cancelRestrictions": "ONLY_NEW"}),
        ),
    )
    .await;
    assert_eq!(done["result"]["status"], "CANCELED", "{done}");
}

#[tokio::test]
async fn open_orders_lists_what_rests_and_cancel_all_cancels_it_on_one_symbol() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    call(&mut client, &place("a", limit_buy("59000.00", "0.01000"))).await;
    call(&mut client, &place("b", limit_buy("58000.00", "0.01000"))).await;
    let eth = json!({"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "price": "2000.00", "quantity": "0.0100"});
    call(&mut client, &place("c", eth)).await;
    let all = call(&mut client, &request("o", "openOrders.status", json!({}))).await;
    let ids: Vec<&Value> = all["result"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| &o["orderId"])
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(all["rateLimits"][0]["count"], 4 + 80);
    let btc = call(
        &mut client,
        &request("o", "openOrders.status", json!({"symbol": "BTCUSDT"})),
    )
    .await;
    assert_eq!(btc["result"].as_array().map(Vec::len), Some(2));
    let canceled = call(
        &mut client,
        &request("x", "openOrders.cancelAll", json!({"symbol": "BTCUSDT"})),
    )
    .await;
    let statuses: Vec<&Value> = canceled["result"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| &o["status"])
        .collect();
    assert_eq!(statuses, ["CANCELED", "CANCELED"]);
    let none_left = call(
        &mut client,
        &request("x", "openOrders.cancelAll", json!({"symbol": "BTCUSDT"})),
    )
    .await;
    assert_eq!(none_left["error"]["code"], -2011);
    let left = call(&mut client, &request("o", "openOrders.status", json!({}))).await;
    assert_eq!(left["result"][0]["symbol"], "ETHUSDT");
    assert_eq!(left["result"].as_array().map(Vec::len), Some(1));
}

/// Places `n` resting buys of 0.001 BTC at 59000.00 - i, then fills the first one by a
/// market sell at the book.
async fn some_history(client: &mut Client, n: usize) {
    for i in 0..n {
        let price = format!("{}.00", 59000 - i);
        let reply = call(client, &place("p", limit_buy(&price, "0.00100"))).await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
}

#[tokio::test]
async fn all_orders_pages_by_order_id_and_by_time_and_gives_the_most_recent_by_default() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    some_history(&mut client, 5).await;
    call(
        &mut client,
        &cancel("c", json!({"symbol": "BTCUSDT", "orderId": 2})),
    )
    .await;
    let ids = |reply: &Value| -> Vec<u64> {
        reply["result"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| o["orderId"].as_u64().expect("an id"))
            .collect()
    };
    let recent = call(
        &mut client,
        &request("a", "allOrders", json!({"symbol": "BTCUSDT", "limit": 2})),
    )
    .await;
    assert_eq!(ids(&recent), [4, 5]);
    assert_eq!(recent["rateLimits"][0]["count"], 4 + 20);
    let from = call(
        &mut client,
        &request(
            "a",
            "allOrders",
            json!({"symbol": "BTCUSDT", "orderId": 2, "limit": 2}),
        ),
    )
    .await;
    assert_eq!(ids(&from), [2, 3]);
    assert_eq!(from["result"][0]["status"], "CANCELED");
    let window = call(
        &mut client,
        &request(
            "a",
            "allOrders",
            json!({"symbol": "BTCUSDT", "orderId": 4, "startTime": T0, "endTime": T0}),
        ),
    )
    .await;
    assert_eq!(
        ids(&window),
        [1, 2, 3, 4, 5],
        "orderId is ignored with a window"
    );
    let too_long = call(
        &mut client,
        &request(
            "a",
            "allOrders",
            json!({"symbol": "BTCUSDT", "startTime": T0, "endTime": T0 + 86_400_001}),
        ),
    )
    .await;
    assert_eq!(
        too_long["error"],
        json!({"code": -1127, "msg": "More than 24 hours between startTime and endTime."})
    );
}

#[tokio::test]
async fn my_trades_lists_the_fills_by_order_and_from_a_trade_id() {
    let server = rich_server().await;
    let mut client = logged_on(&server).await;
    let sell =
        json!({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "2.50000"});
    call(&mut client, &place("s", sell)).await;
    let buy = json!({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.50000"});
    call(&mut client, &place("b", buy)).await;
    let by_order = client
        .request(&request(
            "t",
            "myTrades",
            json!({"symbol": "BTCUSDT", "orderId": 2, "returnRateLimits": false}),
        ))
        .await;
    assert_eq!(
        by_order,
        format!(
            r#"{{"id":"t","status":200,"result":[{{"symbol":"BTCUSDT","id":4,"orderId":2,"orderListId":-1,"price":"60000.01000000","qty":"0.50000000","quoteQty":"30000.00500000","commission":"0.00050000","commissionAsset":"BTC","time":{T0},"isBuyer":true,"isMaker":false,"isBestMatch":true}}]}}"#
        )
    );
    let from = call(
        &mut client,
        &request("t", "myTrades", json!({"symbol": "BTCUSDT", "fromId": 2})),
    )
    .await;
    let ids: Vec<&Value> = from["result"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [2, 3, 4]);
    assert_eq!(from["rateLimits"][0]["count"], 4 + 5 + 20);
    let both = call(
        &mut client,
        &request(
            "t",
            "myTrades",
            json!({"symbol": "BTCUSDT", "orderId": 1, "startTime": T0}),
        ),
    )
    .await;
    assert_eq!(both["error"]["code"], -1128, "{both}");
}

#[tokio::test]
async fn the_control_plane_fills_a_resting_order_in_parts_and_the_subscriber_sees_each_trade() {
    let server = server().await;
    let admin = Admin::new(&server);
    let mut client = subscribed(&server).await;
    call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    next(&mut client).await;
    next(&mut client).await;
    let part = admin
        .post("/__admin/orders/1/fill", json!({"qty": "0.04000"}))
        .await
        .ok();
    assert_eq!(part["status"], "PARTIALLY_FILLED", "{part}");
    assert_eq!(part["executedQty"], "0.04000000");
    assert_eq!(part["account"], demo().api_key);
    let trade = next(&mut client).await;
    assert_eq!(trade["event"]["x"], "TRADE");
    assert_eq!(trade["event"]["X"], "PARTIALLY_FILLED");
    assert_eq!(trade["event"]["l"], "0.04000000");
    assert_eq!(trade["event"]["m"], true);
    next(&mut client).await;
    // Too much, then the rest (no qty), then nothing left to fill.
    let too_much = admin
        .post("/__admin/orders/1/fill", json!({"qty": "0.07"}))
        .await;
    too_much.expect(400);
    let bad = admin
        .post("/__admin/orders/1/fill", json!({"qty": "lots"}))
        .await;
    bad.expect(400);
    let rest = server.fill_order(1, None).expect("the rest fills");
    assert_eq!(rest["status"], "FILLED");
    let trade = next(&mut client).await;
    assert_eq!(trade["event"]["X"], "FILLED");
    assert_eq!(trade["event"]["z"], "0.10000000");
    let done = admin
        .post("/__admin/orders/1/fill", json!({}))
        .await
        .expect(409);
    assert!(done.error().contains("not resting"), "{}", done.error());
    admin
        .post("/__admin/orders/99/fill", json!({}))
        .await
        .expect(404);
}

#[tokio::test]
async fn the_control_plane_lists_orders_by_account_symbol_and_status() {
    let server = server().await;
    let admin = Admin::new(&server);
    let mut client = logged_on(&server).await;
    some_history(&mut client, 3).await;
    call(
        &mut client,
        &cancel("c", json!({"symbol": "BTCUSDT", "orderId": 2})),
    )
    .await;
    let all = admin.get("/__admin/orders").await.ok();
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(3));
    assert_eq!(all["orders"][0]["account"], demo().api_key);
    let query = format!(
        "/__admin/orders?account={}&symbol=BTCUSDT&status=CANCELED",
        demo().api_key
    );
    let canceled = admin.get(&query).await.ok();
    assert_eq!(canceled["orders"].as_array().map(Vec::len), Some(1));
    assert_eq!(canceled["orders"][0]["orderId"], 2);
    let other = admin.get("/__admin/orders?account=nobody").await.ok();
    assert_eq!(other["orders"], json!([]));
    admin.get("/__admin/orders?status=OPEN").await.expect(400);
}

#[tokio::test]
async fn a_client_that_reconnects_finds_the_state_its_orders_reached_meanwhile() {
    let server = rich_server().await;
    let mut client = logged_on(&server).await;
    for (id, price) in [("a", "59000.00"), ("b", "58000.00")] {
        let placed = call(&mut client, &place(id, limit_buy(price, "0.10000"))).await;
        assert_eq!(placed["status"], 200, "{placed}");
    }
    drop(client);
    // While the client is away: the first fills in part, the second in full.
    server.fill_order(1, Some("0.03")).expect("fills");
    server.set_price("BTCUSDT", "57000.00").expect("moves");
    let mut client = logged_on(&server).await;
    let open = call(
        &mut client,
        &request("o", "openOrders.status", json!({"symbol": "BTCUSDT"})),
    )
    .await;
    let open = open["result"].as_array().expect("a list");
    assert_eq!(open.len(), 0, "the move filled both: {open:?}");
    let first = call(
        &mut client,
        &request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "orderId": 1}),
        ),
    )
    .await;
    assert_eq!(first["result"]["status"], "FILLED");
    assert_eq!(first["result"]["executedQty"], "0.10000000");
    let second = call(
        &mut client,
        &request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "origClientOrderId": "mock000000000000000002"}),
        ),
    )
    .await;
    assert_eq!(second["result"]["status"], "FILLED", "{second}");
}

#[tokio::test]
async fn a_partly_filled_order_stays_open_for_a_client_that_reconnects() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    call(&mut client, &place("a", limit_buy("59000.00", "0.10000"))).await;
    drop(client);
    server.fill_order(1, Some("0.03")).expect("fills");
    let mut client = logged_on(&server).await;
    let open = call(&mut client, &request("o", "openOrders.status", json!({}))).await;
    assert_eq!(open["result"][0]["status"], "PARTIALLY_FILLED");
    assert_eq!(open["result"][0]["executedQty"], "0.03000000");
}

#[tokio::test]
async fn the_fifty_first_order_in_ten_seconds_is_refused_with_minus_1015_until_the_window_ends() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    for _ in 0..50 {
        let reply = call(&mut client, &place("p", limit_buy("50000.00", "0.00100"))).await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
    let refused = call(&mut client, &place("p", limit_buy("50000.00", "0.00100"))).await;
    assert_eq!(refused["status"], 429);
    assert_eq!(
        refused["error"],
        json!({"code": -1015, "msg": "Too many new orders; current limit is 50 orders per 10 SECOND."})
    );
    assert_eq!(refused["rateLimits"][0]["count"], 50);
    assert_eq!(refused["rateLimits"][1]["count"], 50);
    // A refusal is charged its weight: 4 before, the 50 orders free, 1 for the refusal.
    assert_eq!(refused["rateLimits"][2]["count"], 5);
    server.clock().advance(std::time::Duration::from_secs(10));
    let later = request("p", "order.place", limit_buy("50000.00", "0.00100"))
        .replace(&T0.to_string(), &(T0 + 10_000).to_string());
    let accepted = call(&mut client, &later).await;
    assert_eq!(accepted["status"], 200, "{accepted}");
    assert_eq!(accepted["rateLimits"][0]["count"], 1);
    assert_eq!(accepted["rateLimits"][1]["count"], 51);
}

/// An order on BTCUSDT (at 60000.00: best ask 60000.01, best bid 59999.99, 1 BTC a level).
fn order(side: &str, kind: &str, extra: Value) -> Value {
    let mut params = json!({"symbol": "BTCUSDT", "side": side, "type": kind});
    if let (Value::Object(params), Value::Object(extra)) = (&mut params, extra) {
        params.extend(extra);
    }
    params
}

#[tokio::test]
async fn each_time_in_force_of_a_limit_order_fills_rests_or_expires_as_documented() {
    let server = rich_server().await;
    let mut client = logged_on(&server).await;
    let limit = |tif: &str, price: &str, qty: &str| {
        order(
            "BUY",
            "LIMIT",
            json!({"timeInForce": tif, "price": price, "quantity": qty}),
        )
    };
    let gtc = call(
        &mut client,
        &place("g", limit("GTC", "60000.02", "3.00000")),
    )
    .await;
    let gtc = &gtc["result"];
    assert_eq!(
        gtc["status"], "PARTIALLY_FILLED",
        "two levels fill, the rest rests: {gtc}"
    );
    assert_eq!(gtc["executedQty"], "2.00000000");
    let ioc = call(
        &mut client,
        &place("i", limit("IOC", "60000.02", "3.00000")),
    )
    .await;
    let ioc = &ioc["result"];
    assert_eq!(ioc["status"], "EXPIRED", "{ioc}");
    assert_eq!(ioc["executedQty"], "2.00000000");
    assert_eq!(ioc["expiryReason"], "UNFILLED_IOC_QUANTITY_EXPIRED");
    let fok = call(
        &mut client,
        &place("f", limit("FOK", "60000.02", "3.00000")),
    )
    .await;
    let fok = &fok["result"];
    assert_eq!(fok["status"], "EXPIRED", "{fok}");
    assert_eq!(fok["executedQty"], "0.00000000");
    assert_eq!(fok["fills"], json!([]));
    assert_eq!(fok["expiryReason"], "UNFILLED_FOK_ORDER_EXPIRED");
    let whole = call(
        &mut client,
        &place("w", limit("FOK", "60000.02", "2.00000")),
    )
    .await;
    assert_eq!(whole["result"]["status"], "FILLED", "{whole}");
}

#[tokio::test]
async fn limit_maker_and_stop_orders_answer_ack_by_default_and_wait_for_their_trigger() {
    let server = rich_server().await;
    let mut client = logged_on(&server).await;
    let maker = order(
        "BUY",
        "LIMIT_MAKER",
        json!({"price": "59000.00", "quantity": "0.10000"}),
    );
    let maker = call(&mut client, &place("lm", maker)).await;
    let keys: Vec<&String> = maker["result"].as_object().expect("ACK").keys().collect();
    assert_eq!(
        keys,
        [
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime"
        ]
    );
    let taker = order(
        "BUY",
        "LIMIT_MAKER",
        json!({"price": "60000.01", "quantity": "0.10000"}),
    );
    let taker = call(&mut client, &place("lm", taker)).await;
    assert_eq!(
        taker["error"],
        json!({"code": -2010, "msg": "Order would immediately match and take."})
    );
    // A stop-loss sell waits below the market, a take-profit buy too.
    let stop = order(
        "SELL",
        "STOP_LOSS",
        json!({"stopPrice": "55000.00", "quantity": "0.10000"}),
    );
    let stop = call(&mut client, &place("sl", stop)).await;
    assert_eq!(stop["result"]["orderId"], 2, "{stop}");
    let profit = order(
        "BUY",
        "TAKE_PROFIT",
        json!({"stopPrice": "55000.00", "quantity": "0.10000", "newOrderRespType": "RESULT"}),
    );
    let profit = call(&mut client, &place("tp", profit)).await;
    let profit = &profit["result"];
    assert_eq!(profit["status"], "NEW", "{profit}");
    assert_eq!(profit["stopPrice"], "55000.00000000");
    assert_eq!(profit["workingTime"], -1);
    assert!(profit.get("fills").is_none(), "RESULT has no fills");
    let limit_profit = order(
        "SELL",
        "TAKE_PROFIT_LIMIT",
        json!({"timeInForce": "GTC", "price": "65000.00", "stopPrice": "65000.00",
               "quantity": "0.10000", "newOrderRespType": "FULL"}),
    );
    let limit_profit = call(&mut client, &place("tpl", limit_profit)).await;
    assert_eq!(limit_profit["result"]["fills"], json!([]), "{limit_profit}");
    let now = order(
        "SELL",
        "STOP_LOSS",
        json!({"stopPrice": "61000.00", "quantity": "0.10000"}),
    );
    let now = call(&mut client, &place("sl", now)).await;
    assert_eq!(
        now["error"],
        json!({"code": -2010, "msg": "Order would trigger immediately."})
    );
    let waiting = call(
        &mut client,
        &request(
            "s",
            "order.status",
            json!({"symbol": "BTCUSDT", "orderId": 2}),
        ),
    )
    .await;
    assert_eq!(waiting["result"]["isWorking"], false);
    assert_eq!(waiting["result"]["workingTime"], -1);
    // The price falls through both triggers: they work, as market orders, and fill.
    server.set_price("BTCUSDT", "54000.00").expect("moves");
    for id in [2, 3] {
        let done = call(
            &mut client,
            &request(
                "s",
                "order.status",
                json!({"symbol": "BTCUSDT", "orderId": id}),
            ),
        )
        .await;
        assert_eq!(done["result"]["status"], "FILLED", "{done}");
        assert_eq!(done["result"]["isWorking"], true);
    }
    // A stop that is not resting cannot be filled by the control plane.
    Admin::new(&server)
        .post("/__admin/orders/4/fill", json!({}))
        .await
        .expect(409);
}

#[tokio::test]
async fn an_order_placed_on_one_connection_reaches_the_subscriptions_of_every_other() {
    let server = server().await;
    let mut watcher = subscribed(&server).await;
    let mut second = subscribed(&server).await;
    let mut trader = logged_on(&server).await;
    let reply = call(&mut trader, &place("p", limit_buy("59000.00", "0.10000"))).await;
    assert_eq!(reply["status"], 200);
    for client in [&mut watcher, &mut second] {
        let new = next(client).await;
        assert_eq!(new["subscriptionId"], 0);
        assert_eq!(new["event"]["x"], "NEW");
        assert_eq!(new["event"]["i"], 1);
        let position = next(client).await;
        assert_eq!(position["event"]["e"], "outboundAccountPosition");
    }
    // The trader has no subscription: nothing follows its reply.
    trader.assert_usable().await;
}

/// `order.status` of the 0.1 BTC buy at 59000.00 placed at T0 as order 1, in `status`.
fn status_json(status: &str, update: i64) -> String {
    format!(
        r#"{{"symbol":"BTCUSDT","orderId":1,"orderListId":-1,"clientOrderId":"mock000000000000000001","price":"59000.00000000","origQty":"0.10000000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"{status}","timeInForce":"GTC","type":"LIMIT","side":"BUY","stopPrice":"0.00000000","icebergQty":"0.00000000","time":{T0},"updateTime":{update},"isWorking":true,"workingTime":{T0},"origQuoteOrderQty":"0.00000000","selfTradePreventionMode":"EXPIRE_MAKER"}}"#
    )
}

#[tokio::test]
async fn open_orders_cancel_all_and_all_orders_answer_in_their_documented_shapes() {
    let server = server().await;
    let mut client = logged_on(&server).await;
    call(&mut client, &place("p", limit_buy("59000.00", "0.10000"))).await;
    let quiet = |method: &str| {
        request(
            "r",
            method,
            json!({"symbol": "BTCUSDT", "returnRateLimits": false}),
        )
    };
    let open = client.request(&quiet("openOrders.status")).await;
    assert_eq!(
        open,
        format!(
            r#"{{"id":"r","status":200,"result":[{}]}}"#,
            status_json("NEW", T0)
        )
    );
    let canceled = client.request(&quiet("openOrders.cancelAll")).await;
    assert_eq!(
        canceled,
        format!(
            r#"{{"id":"r","status":200,"result":[{{"symbol":"BTCUSDT","origClientOrderId":"mock000000000000000001","orderId":1,"orderListId":-1,"clientOrderId":"mock000000000000000002","transactTime":{T0},"price":"59000.00000000","origQty":"0.10000000","executedQty":"0.00000000","origQuoteOrderQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY","selfTradePreventionMode":"EXPIRE_MAKER"}}]}}"#
        )
    );
    let all = client.request(&quiet("allOrders")).await;
    assert_eq!(
        all,
        format!(
            r#"{{"id":"r","status":200,"result":[{}]}}"#,
            status_json("CANCELED", T0)
        )
    );
}

#[tokio::test]
async fn lowered_orders_limits_refuse_the_next_order_with_minus_1015_naming_them() {
    let server = server_with(frozen_builder().orders_per_10s(3).orders_per_day(5)).await;
    let mut client = logged_on(&server).await;
    for _ in 0..3 {
        let reply = call(&mut client, &place("p", limit_buy("50000.00", "0.00100"))).await;
        assert_eq!(reply["status"], 200, "{reply}");
        assert_eq!(reply["rateLimits"][0]["limit"], 3, "{reply}");
        assert_eq!(reply["rateLimits"][1]["limit"], 5, "{reply}");
    }
    let refused = call(&mut client, &place("p", limit_buy("50000.00", "0.00100"))).await;
    assert_eq!(refused["status"], 429, "{refused}");
    assert_eq!(
        refused["error"],
        json!({"code": -1015, "msg": "Too many new orders; current limit is 3 orders per 10 SECOND."})
    );
    // The next window: two more fit in the day, the third meets the day's limit.
    server.clock().advance(std::time::Duration::from_secs(10));
    let later = request("p", "order.place", limit_buy("50000.00", "0.00100"))
        .replace(&T0.to_string(), &(T0 + 10_000).to_string());
    for _ in 0..2 {
        let reply = call(&mut client, &later).await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
    let refused = call(&mut client, &later).await;
    assert_eq!(
        refused["error"],
        json!({"code": -1015, "msg": "Too many new orders; current limit is 5 orders per 1 DAY."})
    );
    let limits = call(
        &mut client,
        &request("l", "account.rateLimits.orders", json!({}))
            .replace(&T0.to_string(), &(T0 + 10_000).to_string()),
    )
    .await;
    assert_eq!(
        limits["result"],
        json!([
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 3, "count": 2},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 5, "count": 5},
        ])
    );
}

#[tokio::test]
async fn exchange_info_shows_the_configured_orders_limits() {
    let server = server_with(
        frozen_builder()
            .orders_per_10s(1_000)
            .orders_per_day(2_000_000),
    )
    .await;
    let mut client = Client::connect(&server).await;
    let info = call(
        &mut client,
        r#"{"id":"x","method":"exchangeInfo","params":{"symbol":"BTCUSDT"}}"#,
    )
    .await;
    let orders: Vec<&Value> = info["result"]["rateLimits"]
        .as_array()
        .expect("rateLimits")
        .iter()
        .filter(|limit| limit["rateLimitType"] == "ORDERS")
        .collect();
    assert_eq!(
        orders,
        [
            &json!({"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 1000}),
            &json!({"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 2000000}),
        ]
    );
}
