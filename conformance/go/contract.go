package main

// Steps 1-6 of the connector contract (issue 15), each through the connector's public API on
// one client, plus steps that pin down the connector's bugs (4b, 6b, 7; see the README). Each
// step returns what it saw worth a mention on its PASS line, if anything, or an error to fail.

import (
	"errors"
	"fmt"
	"os"
	"strings"

	websocketapi "github.com/binance/binance-connector-go/clients/spot/src/websocketapi"
	"github.com/binance/binance-connector-go/clients/spot/src/websocketapi/models"
	"github.com/binance/binance-connector-go/common/v2/common"
)

// driver is the state the steps share.
type driver struct {
	wsURL         string
	privateKeyPEM string
	admin         *controlPlane
	client        *websocketapi.WebsocketAPIClient
	// events is the inbox of the newest subscription's handler; firstEvents that of the first
	// (step 3), which the connector keeps calling after the driver has subscribed again.
	events      *inbox
	firstEvents *inbox
	lastOrderID int64
}

// 0: back to the mock's start-up state, then the connector's client with the demo key.
func (d *driver) resetAndBuildClient() (string, error) {
	if err := d.admin.post("/reset", map[string]any{}, nil); err != nil {
		return "", err
	}
	// The connector takes a path that does not exist for PEM text, and only fails at the first
	// signature ("failed to decode PEM block"): say which file is missing here instead.
	if _, err := os.Stat(d.privateKeyPEM); err != nil {
		return "", fmt.Errorf("the demo key's PEM: %w", err)
	}
	d.client = demoClient(d.wsURL, d.privateKeyPEM)
	return "", nil
}

// 1: connect, session.logon, session.status shows the key, session.logout, status shows none.
func (d *driver) sessionLogonStatusLogout() (string, error) {
	if err := d.client.Connect(); err != nil {
		return "", fmt.Errorf("Connect: %w", err)
	}
	if err := d.logOn(); err != nil {
		return "", err
	}

	status, err := await(d.client.AuthAPI.SessionStatus().ExecuteAsync())
	if err != nil {
		return "", fmt.Errorf("session.status: %w", err)
	}
	if got := status.GetResult().ApiKey; got == nil || *got != demoAPIKey {
		return "", fmt.Errorf("session.status apiKey %s", str(got))
	}

	logout, err := await(d.client.AuthAPI.SessionLogout().ExecuteAsync())
	if err != nil {
		return "", fmt.Errorf("session.logout: %w", err)
	}
	if got := logout.GetResult().ApiKey; got != nil {
		return "", fmt.Errorf("session.logout apiKey %s", str(got))
	}

	// The connector's models drop a null and an absent member alike: apiKey and authorizedSince
	// are nil pointers either way (the journal shows the mock's reply has them as null).
	after, err := await(d.client.AuthAPI.SessionStatus().ExecuteAsync())
	if err != nil {
		return "", fmt.Errorf("session.status after logout: %w", err)
	}
	result := after.GetResult()
	if result.ApiKey != nil || result.AuthorizedSince != nil {
		return "", fmt.Errorf("session.status after logout: apiKey %s, authorizedSince %s",
			str(result.ApiKey), num(result.AuthorizedSince))
	}
	return "", nil
}

// 2: log on again; account.status goes without apiKey and signature, the session signs it.
func (d *driver) accountStatusSignedBySession() (string, error) {
	if err := d.logOn(); err != nil {
		return "", err
	}
	account, err := await(d.client.AccountAPI.AccountStatus().ExecuteAsync())
	if err != nil {
		return "", fmt.Errorf("account.status: %w", err)
	}
	free := map[string]string{}
	for _, balance := range account.GetResult().Balances {
		free[balance.GetAsset()] = balance.GetFree()
	}
	if free["BTC"] != "1.00000000" || free["USDT"] != "10000.00000000" {
		return "", fmt.Errorf("account.status balances %s", compact(free))
	}

	// The journal shows what the connector sent: the session's key ran it, no credentials in it.
	sent, err := d.admin.lastRequest("account.status")
	if err != nil {
		return "", err
	}
	params, err := sent.params()
	if err != nil {
		return "", err
	}
	_, hasKey := params["apiKey"]
	_, hasSignature := params["signature"]
	if _, hasTimestamp := params["timestamp"]; hasKey || hasSignature || !hasTimestamp {
		return "", fmt.Errorf("account.status sent with params %s", compact(params))
	}
	if sent.APIKey == nil || *sent.APIKey != demoAPIKey || string(sent.Signature) != "null" {
		return "", fmt.Errorf("journal entry %s", compact(sent))
	}
	return "sent with a timestamp only", nil
}

// 3: userDataStream.subscribe; a balanceUpdate pushed through the control plane reaches the
// stream handler.
func (d *driver) balanceUpdateDelivered() (string, error) {
	if err := d.subscribe(); err != nil {
		return "", err
	}
	var pushed struct {
		Delivered int `json:"delivered"`
	}
	event := map[string]any{"e": "balanceUpdate", "a": "BTC", "d": "0.10000000", "T": 1700000000000}
	if err := d.admin.post("/accounts/"+demoAPIKey+"/events", event, &pushed); err != nil {
		return "", err
	}
	if pushed.Delivered != 1 {
		return "", fmt.Errorf("the control plane reached %d subscriptions", pushed.Delivered)
	}
	got, err := d.events.next("balanceUpdate", func(e models.UserDataStreamEventsResponse) bool {
		return e.BalanceUpdate != nil
	})
	if err != nil {
		return "", err
	}
	update := got.BalanceUpdate
	if update.GetA() != "BTC" || update.GetD() != "0.10000000" || update.GetT() != 1700000000000 || update.E == nil {
		return "", fmt.Errorf("balanceUpdate %s", compact(update))
	}
	return "", nil
}

// recvWindowRefusal is the text of Binance's -1021, as the connector puts it in its error.
const recvWindowRefusal = "[-1021] Timestamp for this request is outside of the recvWindow."

// 4: with the mock's clock frozen 10 s ahead, the next signed request is 10 s behind it, past
// the default recvWindow of 5000 ms: -1021. The connector fails the request with a
// *common.WebSocketError whose Op is "error_response" and whose text holds "[-1021] <msg>", as
// its own tests check; the code is in no field of its own. The clock is put back whatever
// happens, connections kept.
func (d *driver) timestampOutsideRecvWindow() (string, error) {
	var clock struct {
		Now int64 `json:"now"`
	}
	if err := d.admin.get("/clock", &clock); err != nil {
		return "", err
	}
	if err := d.admin.post("/clock", map[string]any{"set": clock.Now + 10000, "freeze": true}, nil); err != nil {
		return "", err
	}
	account, refusal := await(d.client.AccountAPI.AccountStatus().ExecuteAsync())
	// Read before the reset, which empties the journal.
	sent, journalErr := d.admin.lastRequest("account.status")
	if err := d.admin.post("/reset", map[string]any{"connections": "keep"}, nil); err != nil {
		return "", err
	}
	if refusal == nil {
		return "", fmt.Errorf("account.status answered with the clock 10 s ahead: %s", compact(account))
	}
	var wsErr *common.WebSocketError
	if !errors.As(refusal, &wsErr) || wsErr.Op != "error_response" || !strings.Contains(refusal.Error(), recvWindowRefusal) {
		return "", fmt.Errorf("account.status refused with %T %v", refusal, refusal)
	}
	if journalErr != nil {
		return "", journalErr
	}
	if sent.Status != 400 {
		return "", fmt.Errorf("the journal shows account.status answered %d", sent.Status)
	}
	// The whole text is long and says the reply's status (400) only inside it: the README has it.
	return fmt.Sprintf("*common.WebSocketError, Op %q, Code %d, its text holds %q", wsErr.Op, wsErr.Code, recvWindowRefusal), nil
}

// 4b: the connector stops reading a connection at the first error reply (its read loop takes
// the reply for a read error and returns, see the README): the next request is answered by the
// mock but times out in the connector. A user gets the connection back with
// CloseWebSocketConnection, Connect and session.logon; the driver does that for steps 5-6.
func (d *driver) connectionDeafAfterErrorReply() (string, error) {
	status, err := await(d.client.AuthAPI.SessionStatus().ExecuteAsync())
	if err == nil {
		return "", fmt.Errorf("session.status was answered after the error reply (the connector reads on, update the driver): %s", compact(status))
	}
	if err.Error() != "timeout waiting for response" {
		return "", fmt.Errorf("session.status failed with %T %v, not the connector's timeout", err, err)
	}
	sent, err := d.admin.lastRequest("session.status")
	if err != nil {
		return "", err
	}
	if sent.Status != 200 {
		return "", fmt.Errorf("the mock answered session.status %d", sent.Status)
	}

	if err := d.client.CloseWebSocketConnection(); err != nil {
		return "", fmt.Errorf("CloseWebSocketConnection: %w", err)
	}
	if err := d.reconnect(); err != nil {
		return "", err
	}
	return fmt.Sprintf("session.status answered 200 by the mock, timed out in the connector after %s; "+
		"CloseWebSocketConnection, Connect, session.logon restore it", waitFor), nil
}

// shutdownCloseAfterMs is how long the mock keeps the connection after serverShutdown, on its
// clock: long enough for one request to go through on it first.
const shutdownCloseAfterMs = 1000

// 5: serverShutdown to the driver's connection. The connector looks for "e" at the top of a
// frame, and Binance (and the mock) send {"event":{"e":"serverShutdown","E":...}}: the
// connector takes the frame for nothing, logs nothing and does not renew the connection. The
// mock then closes it with 1001, which the connector takes for a normal close: no reconnect,
// no error, until the next request fails. A user reconnects by hand, as in 4b.
func (d *driver) serverShutdownIgnored() (string, error) {
	before, err := until("one logged-on demo-key connection", func() (connection, bool, error) {
		mine, err := d.admin.demoConnections()
		if err != nil || len(mine) != 1 {
			return connection{}, false, err
		}
		return mine[0], mine[0].AuthorizedSince != nil, nil
	})
	if err != nil {
		return "", err
	}

	var announced struct {
		Announced int `json:"announced"`
	}
	shutdown := map[string]any{"connection": before.ID, "closeAfter": shutdownCloseAfterMs}
	if err := d.admin.post("/server-shutdown", shutdown, &announced); err != nil {
		return "", err
	}
	if announced.Announced != 1 {
		return "", fmt.Errorf("server-shutdown announced %d", announced.Announced)
	}

	// The frame comes before this reply on the same connection, so the connector has read it by
	// the time the reply is in; a renewal would be under way.
	if _, err := await(d.client.AuthAPI.SessionStatus().ExecuteAsync()); err != nil {
		return "", fmt.Errorf("session.status in the grace period: %w", err)
	}
	sent, err := d.admin.lastRequest("session.status")
	if err != nil {
		return "", err
	}
	if sent.Connection != before.ID {
		return "", fmt.Errorf("session.status went on connection %d, not %d", sent.Connection, before.ID)
	}

	// A renewal would have opened a second connection by now. It is looked for among all
	// connections, not the demo key's only: the connector's re-logon on it could fail (README,
	// bug 6). Step 0's reset closed every other client's.
	after, err := until(fmt.Sprintf("close of connection %d", before.ID), func() ([]connection, bool, error) {
		all, err := d.admin.connections()
		for _, conn := range all {
			if conn.ID == before.ID {
				return all, false, err
			}
		}
		return all, true, err
	})
	if err != nil {
		return "", err
	}
	for _, conn := range after {
		if conn.ID > before.ID {
			return "", fmt.Errorf("the connector renewed the connection (update the driver): %s", compact(after))
		}
	}

	_, err = await(d.client.AuthAPI.SessionStatus().ExecuteAsync())
	if err == nil {
		return "", errors.New("session.status answered on a connection the mock closed")
	}
	failed := err.Error()
	if err := d.reconnect(); err != nil {
		return "", err
	}
	return fmt.Sprintf("frame not recognised, no renewal; connection %d closed by the mock with 1001 after %d ms; "+
		"next request: %q; Connect, session.logon restore it", before.ID, shutdownCloseAfterMs, failed), nil
}

// restingBuy is a buy under the market (60000), so it rests.
func (d *driver) restingBuy() (*models.OrderPlaceResponse, error) {
	return await(d.client.TradeAPI.OrderPlace().
		Symbol("BTCUSDT").
		Side(models.OrderCancelReplaceSideParameterBuy).
		Type(models.OrderCancelReplaceTypeParameterLimit).
		TimeInForce(models.OrderCancelReplaceTimeInForceParameterGtc).
		Price(59000).
		Quantity(0.001).
		ExecuteAsync())
}

// 6: a resting LIMIT order: NEW on the stream, order.cancel, CANCELED on the stream.
func (d *driver) limitOrderPlacedAndCancelled() (string, error) {
	if err := d.subscribeIfNeeded(); err != nil {
		return "", err
	}
	placed, err := d.restingBuy()
	if err != nil {
		return "", fmt.Errorf("order.place: %w", err)
	}
	order := placed.GetResult()
	if order.GetStatus() != "NEW" || order.OrderId == nil {
		return "", fmt.Errorf("order.place answered %s", compact(order))
	}
	orderID := order.GetOrderId()
	if _, err := d.events.next(fmt.Sprintf("NEW report of order %d", orderID), report(orderID, "NEW")); err != nil {
		return "", err
	}

	cancelled, err := await(d.client.TradeAPI.OrderCancel().Symbol("BTCUSDT").OrderId(orderID).ExecuteAsync())
	if err != nil {
		return "", fmt.Errorf("order.cancel: %w", err)
	}
	cancel := cancelled.GetResult()
	if status := cancel.GetStatus(); status != "CANCELED" {
		return "", fmt.Errorf("order.cancel status %q", status)
	}
	if _, err := d.events.next(fmt.Sprintf("CANCELED report of order %d", orderID), report(orderID, "CANCELED")); err != nil {
		return "", err
	}
	d.lastOrderID = orderID
	return "", nil
}

// subscribe sends userDataStream.subscribe and hands the stream's events to d.events. The
// request has no ExecuteAsync, and its Execute selects over the reply and error channels as
// Execute does elsewhere (see await): rarely, it returns neither.
func (d *driver) subscribe() error {
	reply, stream, _, err := d.client.UserDataStreamAPI.UserDataStreamSubscribe().Execute()
	if err != nil {
		return fmt.Errorf("userDataStream.subscribe: %w", err)
	}
	if reply == nil || stream == nil {
		return errors.New("userDataStream.subscribe: the connector returned neither a stream nor an error")
	}
	// One inbox per handler, so that step 6b can tell which handler got which copy.
	d.events = newInbox()
	if d.firstEvents == nil {
		d.firstEvents = d.events
	}
	stream.On("message", d.events.push)
	return nil
}

// subscribeIfNeeded subscribes again when the mock shows the driver's connection without a
// subscription (after a reconnect: the connector subscribes again only on a renewal it started).
func (d *driver) subscribeIfNeeded() error {
	mine, err := d.admin.demoConnections()
	if err != nil {
		return err
	}
	if len(mine) != 1 {
		return fmt.Errorf("demo-key connections: %s", compact(mine))
	}
	if len(mine[0].Subscriptions) == 0 {
		return d.subscribe()
	}
	return nil
}

// logOn sends session.logon and checks that it answers the demo key.
func (d *driver) logOn() error {
	logon, err := await(d.client.AuthAPI.SessionLogon().ExecuteAsync())
	if err != nil {
		return fmt.Errorf("session.logon: %w", err)
	}
	result := logon.GetResult()
	if result.GetApiKey() != demoAPIKey || result.AuthorizedSince == nil {
		return fmt.Errorf("session.logon answered apiKey %s, authorizedSince %s", str(result.ApiKey), num(result.AuthorizedSince))
	}
	return nil
}

// reconnect is what a user does when the connector's connection is gone or deaf: Connect
// again on the same client (it dials a new socket into the same pool entry) and log on again.
// The connector still believes the old session is logged on, so without session.logon it would
// send signed requests with neither apiKey nor signature.
func (d *driver) reconnect() error {
	if err := d.client.Connect(); err != nil {
		return fmt.Errorf("Connect again: %w", err)
	}
	if err := d.logOn(); err != nil {
		return err
	}
	status, err := await(d.client.AuthAPI.SessionStatus().ExecuteAsync())
	if err != nil {
		return fmt.Errorf("session.status after reconnecting: %w", err)
	}
	if got := status.GetResult().ApiKey; got == nil || *got != demoAPIKey {
		return fmt.Errorf("session.status after reconnecting: apiKey %s", str(got))
	}
	return nil
}

// 6b: every event of the User Data Stream reaches the handler of the first subscription (step
// 3, on a connection gone since) once and the newest handler twice. The connector files
// handlers under the subscriptionId alone, on its one pool entry: the mock numbers
// subscriptions per connection, from 0 as in Binance's examples, so the new connection's
// subscription is 0 again and the first handler is called for it; and subscribing again adds the connection to the
// stream's list a second time, so On registers the new handler twice. StreamHandler.Unsubscribe
// acts on WebSocket Streams only, so a user cannot take the first handler away.
func (d *driver) eventsDeliveredThrice() (string, error) {
	if d.firstEvents == nil || d.firstEvents == d.events || d.lastOrderID == 0 {
		return "", errors.New("needs steps 3 and 6, with a new subscription in between")
	}
	cancelled := report(d.lastOrderID, "CANCELED")
	if err := d.events.atLeast("second copy of the CANCELED report on the newest handler", 2, cancelled); err != nil {
		return "", err
	}
	if err := d.firstEvents.atLeast("copy of the CANCELED report on the first handler", 1, cancelled); err != nil {
		return "", err
	}
	newest, first := d.events.count(cancelled), d.firstEvents.count(cancelled)
	if newest != 2 || first != 1 {
		return "", fmt.Errorf("the CANCELED report reached the newest handler %d times, the first %d times", newest, first)
	}
	return "the CANCELED report: twice on the newest handler, once on the first", nil
}

// 7: after session.logout the connector still takes the connection for logged on (it clears
// its flag on no reply), so a signed request goes out with a timestamp and neither apiKey nor
// signature, and the mock refuses it as Binance would. Last, since the refusal leaves the
// connection deaf (4b).
func (d *driver) signedRequestAfterLogoutGoesUnsigned() (string, error) {
	if _, err := await(d.client.AuthAPI.SessionLogout().ExecuteAsync()); err != nil {
		return "", fmt.Errorf("session.logout: %w", err)
	}
	account, refusal := await(d.client.AccountAPI.AccountStatus().ExecuteAsync())
	if refusal == nil {
		return "", fmt.Errorf("account.status answered after session.logout (update the driver): %s", compact(account))
	}
	sent, err := d.admin.lastRequest("account.status")
	if err != nil {
		return "", err
	}
	params, err := sent.params()
	if err != nil {
		return "", err
	}
	_, hasKey := params["apiKey"]
	_, hasSignature := params["signature"]
	if hasKey || hasSignature {
		return "", fmt.Errorf("account.status after logout sent with params %s (the connector signs it now, update the driver)", compact(params))
	}
	if sent.Status != 400 || !strings.Contains(refusal.Error(), missingAPIKeyRefusal) {
		return "", fmt.Errorf("account.status after logout: the mock answered %d, the connector failed with %v", sent.Status, refusal)
	}
	return fmt.Sprintf("sent with params %s, refused with %s", compact(params), missingAPIKeyRefusal), nil
}

// missingAPIKeyRefusal is Binance's -1102 for a USER_DATA request with no apiKey on a session
// that is not logged on, as the connector puts it in its error.
const missingAPIKeyRefusal = "[-1102] Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed."
