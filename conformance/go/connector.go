package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	websocketapi "github.com/binance/binance-connector-go/clients/spot/src/websocketapi"
	"github.com/binance/binance-connector-go/clients/spot/src/websocketapi/models"
	"github.com/binance/binance-connector-go/common/v2/common"
)

// demoAPIKey is the key the mock registers at start-up (test material, public on purpose).
const demoAPIKey = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q"

// waitFor bounds every wait: a reply (the connector's own request timeout), an event, an admin
// call, a poll of the control plane.
const waitFor = 3 * time.Second

// demoClient is the connector's WebSocket API client on the endpoint at wsURL, with the demo
// key. The connector takes the private key as a PEM file path or as the PEM text.
//
// spot.NewBinanceSpotClient(spot.WithWebsocketAPI(configuration)).WebsocketAPI, as the
// connector's README writes it, is this same client; the spot package also brings the REST API
// and WebSocket Streams clients, which would double the cold build time for nothing.
func demoClient(wsURL, privateKeyPEM string) *websocketapi.WebsocketAPIClient {
	configuration := common.NewConfigurationWebsocketApi(
		common.WithWsApiBasePath(wsURL),
		common.WithWsApiKey(demoAPIKey),
		common.WithWsPrivateKey(privateKeyPEM),
		common.WithWsTimeout(waitFor),
	)
	return websocketapi.NewWebsocketAPIClient(configuration)
}

// await is the reply to a request sent with the connector's ExecuteAsync, or its error.
//
// The connector answers each request on two channels: on success the typed reply on the first,
// then nil on the second; on failure (an error reply, a timeout) the error on the second only.
// So the one order that is always right is the error channel first, then the reply channel.
// Execute, and the README's select over both channels, may take the nil before the reply when
// both are ready, and return neither a reply nor an error (seen on session.logon under -race).
func await[T any](replies chan *common.ResponseOrRaw[T], errs chan error, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	select {
	case err = <-errs:
	case <-time.After(waitFor + time.Second):
		// The connector reports its own timeout after waitFor; this is in case it does not.
		return nil, fmt.Errorf("the connector reported nothing within %s", waitFor+time.Second)
	}
	if err != nil {
		return nil, err
	}
	var reply *common.ResponseOrRaw[T]
	select {
	case reply = <-replies:
	default:
	}
	if reply == nil {
		return nil, errors.New("the connector reported success but gave no reply")
	}
	if reply.Typed == nil {
		return nil, fmt.Errorf("the connector could not type the reply: %s", compact(reply.Raw))
	}
	return reply.Typed, nil
}

// inbox holds the User Data Stream events the connector delivered, and waits for the next one.
type inbox struct {
	mu      sync.Mutex
	seen    []models.UserDataStreamEventsResponse
	arrived chan struct{} // closed and replaced at each arrival
}

func newInbox() *inbox { return &inbox{arrived: make(chan struct{})} }

// push takes one event; the connector calls it from a goroutine of its own per event.
func (in *inbox) push(event models.UserDataStreamEventsResponse) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seen = append(in.seen, event)
	close(in.arrived)
	in.arrived = make(chan struct{})
}

// next is the first event, already seen or to come within waitFor, that matches.
func (in *inbox) next(what string, matches func(models.UserDataStreamEventsResponse) bool) (models.UserDataStreamEventsResponse, error) {
	deadline := time.After(waitFor)
	for {
		in.mu.Lock()
		for _, event := range in.seen {
			if matches(event) {
				in.mu.Unlock()
				return event, nil
			}
		}
		arrived := in.arrived
		last := in.seen[max(0, len(in.seen)-5):]
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			shown, _ := json.Marshal(last)
			return models.UserDataStreamEventsResponse{}, fmt.Errorf("no %s within %s; last seen: %s", what, waitFor, shown)
		}
	}
}

// atLeast waits, for at most waitFor, until n events seen match.
func (in *inbox) atLeast(what string, n int, matches func(models.UserDataStreamEventsResponse) bool) error {
	deadline := time.After(waitFor)
	for {
		in.mu.Lock()
		arrived := in.arrived
		in.mu.Unlock()
		if got := in.count(matches); got >= n {
			return nil
		}
		select {
		case <-arrived:
		case <-deadline:
			return fmt.Errorf("no %s within %s (%d seen)", what, waitFor, in.count(matches))
		}
	}
}

// count is how many events seen match.
func (in *inbox) count(matches func(models.UserDataStreamEventsResponse) bool) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, event := range in.seen {
		if matches(event) {
			n++
		}
	}
	return n
}

// report matches the executionReport of order orderID with execution type x.
func report(orderID int64, x string) func(models.UserDataStreamEventsResponse) bool {
	return func(event models.UserDataStreamEventsResponse) bool {
		r := event.ExecutionReport
		return r != nil && r.Smalli != nil && *r.Smalli == orderID && r.Smallx != nil && *r.Smallx == x
	}
}

// str and num show an optional field of a connector model in a FAIL line.
func str(s *string) string {
	if s == nil {
		return "<absent>"
	}
	return fmt.Sprintf("%q", *s)
}

func num(n *int64) string {
	if n == nil {
		return "<absent>"
	}
	return fmt.Sprint(*n)
}
