package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// controlPlane is the mock's /__admin API, on the WebSocket endpoint's own host and port:
// ws://HOST:PORT/ws-api/v3 -> http://HOST:PORT/__admin.
type controlPlane struct {
	base string
	http *http.Client
}

func newControlPlane(wsURL string) (*controlPlane, error) {
	endpoint, err := url.Parse(wsURL)
	if err != nil {
		return nil, fmt.Errorf("WS_URL %q: %w", wsURL, err)
	}
	scheme := "http"
	if endpoint.Scheme == "wss" {
		scheme = "https"
	}
	return &controlPlane{
		base: scheme + "://" + endpoint.Host + "/__admin",
		http: &http.Client{Timeout: waitFor},
	}, nil
}

// call sends body (if not nil) as JSON and decodes the 2xx answer into out (if not nil).
func (c *controlPlane) call(method, path string, body, out any) error {
	var payload io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(encoded)
	}
	request, err := http.NewRequest(method, c.base+path, payload)
	if err != nil {
		return err
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	response, err := c.http.Do(request)
	if err != nil {
		return fmt.Errorf("%s /__admin%s: %w", method, path, err)
	}
	defer response.Body.Close()
	text, err := io.ReadAll(response.Body)
	if err != nil {
		return fmt.Errorf("%s /__admin%s: %w", method, path, err)
	}
	if response.StatusCode/100 != 2 {
		return fmt.Errorf("%s /__admin%s answered %d: %s", method, path, response.StatusCode, text)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(text, out); err != nil {
		return fmt.Errorf("%s /__admin%s answered %s: %w", method, path, text, err)
	}
	return nil
}

func (c *controlPlane) get(path string, out any) error { return c.call("GET", path, nil, out) }

func (c *controlPlane) post(path string, body, out any) error {
	return c.call("POST", path, body, out)
}

// connection is one entry of GET /__admin/connections.
type connection struct {
	ID              int64   `json:"id"`
	APIKey          *string `json:"apiKey"`
	AuthorizedSince *int64  `json:"authorizedSince"`
	Subscriptions   []int64 `json:"subscriptions"`
}

// connections are the open connections, logged on or not.
func (c *controlPlane) connections() ([]connection, error) {
	var listed struct {
		Connections []connection `json:"connections"`
	}
	if err := c.get("/connections", &listed); err != nil {
		return nil, err
	}
	return listed.Connections, nil
}

// demoConnections are the open connections logged on with the demo key: the driver's own.
func (c *controlPlane) demoConnections() ([]connection, error) {
	all, err := c.connections()
	if err != nil {
		return nil, err
	}
	var mine []connection
	for _, conn := range all {
		if conn.APIKey != nil && *conn.APIKey == demoAPIKey {
			mine = append(mine, conn)
		}
	}
	return mine, nil
}

// journalEntry is one entry of GET /__admin/requests: what the connector sent, as received.
type journalEntry struct {
	Connection int64           `json:"connection"`
	Method     string          `json:"method"`
	Request    string          `json:"request"`
	Status     int             `json:"status"`
	APIKey     *string         `json:"apiKey"`
	Signature  json.RawMessage `json:"signature"`
}

// params are the params of the request as the connector sent them.
func (e journalEntry) params() (map[string]any, error) {
	var request struct {
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal([]byte(e.Request), &request); err != nil {
		return nil, fmt.Errorf("journal request %s: %w", e.Request, err)
	}
	return request.Params, nil
}

// lastRequest is the newest journal entry for method.
func (c *controlPlane) lastRequest(method string) (journalEntry, error) {
	var journal struct {
		Requests []journalEntry `json:"requests"`
	}
	path := "/requests?limit=1&method=" + url.QueryEscape(method)
	if err := c.get(path, &journal); err != nil {
		return journalEntry{}, err
	}
	if len(journal.Requests) != 1 {
		return journalEntry{}, fmt.Errorf("the journal holds no %s", method)
	}
	return journal.Requests[0], nil
}

// until polls probe every 50 ms until it reports done, for at most waitFor. It is for what the
// mock shows and the connector tells nobody about (a connection closed), so there is no event
// to wait on.
func until[T any](what string, probe func() (T, bool, error)) (T, error) {
	deadline := time.Now().Add(waitFor)
	for {
		found, done, err := probe()
		if err != nil || done {
			return found, err
		}
		if time.Now().After(deadline) {
			return found, fmt.Errorf("no %s within %s", what, waitFor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// compact is v as one line of JSON, for FAIL lines.
func compact(v any) string {
	encoded, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSpace(string(encoded))
}
