package driver;

import com.binance.connector.client.impl.WebSocketApiClientImpl;
import com.binance.connector.client.utils.signaturegenerator.Ed25519SignatureGenerator;
import com.binance.connector.client.utils.signaturegenerator.SignatureGenerator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.json.JSONArray;
import org.json.JSONObject;

/**
 * Runs Binance's Java connector against the mock: steps 1-6 of the connector contract (issue
 * 15), one {@code PASS}/{@code FAIL} line each, then {@code RESULT PASS} or {@code RESULT FAIL}.
 * Steps with a letter (2b, 3b, 5b) pin down what the connector does wrong, each checked
 * against the request the mock's journal shows it sent, so that they pass only for that reason.
 *
 * <p>Usage: {@code java -jar driver.jar WS_URL PRIVATE_KEY_PEM_PATH}
 */
public final class Main {
    /** The demo key: test material, public on purpose, registered by the mock at start-up. */
    static final String API_KEY = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q";

    private static final String SYMBOL = "BTCUSDT";

    private final String url;
    private final SignatureGenerator signer;
    private final Admin admin;
    private final boolean verbose = System.getenv("DRIVER_VERBOSE") != null;
    private int failures;
    private Connection connection;

    private Main(String url, SignatureGenerator signer) {
        this.url = url;
        this.signer = signer;
        this.admin = new Admin(url);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java -jar driver.jar WS_URL PRIVATE_KEY_PEM_PATH");
            System.exit(2);
        }
        Main driver = new Main(args[0], new Ed25519SignatureGenerator(args[1]));
        int failures = driver.run();
        System.out.println(failures == 0 ? "RESULT PASS" : "RESULT FAIL");
        // The connector's OkHttp threads are not daemons: leave without waiting for them.
        System.exit(failures == 0 ? 0 : 1);
    }

    private int run() {
        try {
            // Whatever ran before on this mock (another driver, in CI) is forgotten here.
            admin.post("/reset", new JSONObject());
        } catch (Exception e) {
            System.out.println("FAIL 0 POST /__admin/reset: " + e);
            return 1;
        }
        step("1", "connect, logon, status, logout, status", this::sessionRoundTrip);
        step("2", "account.status on the session", this::accountStatus);
        step("2b", "account.status as the connector sends it on a session", this::accountStatusAsSent);
        step("3", "User Data Stream delivers a balanceUpdate", this::userDataStream);
        step("3b", "the connector's own User Data Stream call", this::listenKeyStart);
        step("4", "a signed request 10 s behind the clock", this::staleTimestamp);
        step("5", "serverShutdown", this::serverShutdown);
        step("5b", "session.logon on a new connection", this::logonAfterReconnect);
        step("6", "LIMIT order placed, reported, cancelled", this::orderRoundTrip);
        // Last, because the client's close() stops the connector's shared HTTP client.
        step("7", "the connector's documented client on the custom URL", this::documentedClient);
        if (connection != null) {
            connection.close();
        }
        Connection.shutDownConnector();
        return failures;
    }

    /** What a step does; returns the description printed after {@code PASS n}. */
    private interface Step {
        String run() throws Exception;
    }

    private void step(String number, String what, Step step) {
        try {
            System.out.println("PASS " + number + " " + step.run());
        } catch (Exception e) {
            failures += 1;
            String why = e instanceof StepFailure ? e.getMessage() : e.toString();
            System.out.println("FAIL " + number + " " + what + ": " + why);
            if (verbose) {
                e.printStackTrace();
            }
        }
    }

    // 1. The URL is the connector's only setting that points it at the mock.
    private String sessionRoundTrip() throws Exception {
        connection = Connection.open(url, API_KEY, signer, "java");
        JSONObject logon = ok("session.logon", connection.call("session.logon", connection.auth::logon));
        expect(API_KEY.equals(logon.optString("apiKey")), "session.logon result " + logon);
        JSONObject status = ok("session.status", connection.call("session.status", connection.auth::status));
        expect(API_KEY.equals(status.optString("apiKey")), "session.status result " + status);
        JSONObject logout = ok("session.logout", connection.call("session.logout", connection.auth::logout));
        expect(logout.isNull("apiKey"), "session.logout result " + logout);
        JSONObject after = ok("session.status", connection.call("session.status", connection.auth::status));
        expect(after.isNull("apiKey") && after.isNull("authorizedSince"),
                "session.status after logout " + after);
        return "connected to the custom URL; session.logon (Ed25519) -> session.status shows the key"
                + " -> session.logout -> session.status shows null";
    }

    // 2. Binance lets a logged-on session omit apiKey and signature, not timestamp
    // (web-socket-api.md, session.logon). The connector omits all three (2b); passing the
    // timestamp by hand, as a user of this connector has to, the session signs the rest.
    private String accountStatus() throws Exception {
        connected();
        ok("session.logon", connection.call("session.logon", connection.auth::logon));
        JSONObject params = new JSONObject().put("timestamp", System.currentTimeMillis());
        String id = connection.nextRequestId();
        JSONObject status = ok("account.status",
                connection.call("account.status", id, params, connection.account::accountStatus));
        JSONObject sent = sentParams("account.status", id);
        expect(!sent.has("apiKey") && !sent.has("signature"), "the connector sent " + sent);
        expect(status.has("balances"), "account.status result " + status);
        return "session.logon again; account.status with no apiKey or signature, signed by the"
                + " session (timestamp passed by hand, see 2b): "
                + status.getJSONArray("balances").length() + " balances";
    }

    private String accountStatusAsSent() throws Exception {
        connected();
        String id = connection.nextRequestId();
        JSONObject reply = connection.call("account.status", id, new JSONObject(),
                connection.account::accountStatus);
        JSONObject sent = sentParams("account.status", id);
        expect(!sent.has("timestamp"), "the connector sent a timestamp after all: " + sent);
        expectError(reply, -1102, "'timestamp'");
        return "connector bug: on a session, account.status goes out with no timestamp"
                + " (sent params " + sent + "); -1102 \"" + errorMessage(reply) + "\", as Binance answers";
    }

    // 3. The connector has no typed method for userDataStream.subscribe; its request handler,
    // which every typed method calls, sends it on the logged-on connection.
    private String userDataStream() throws Exception {
        connected();
        JSONObject subscribed = ok("userDataStream.subscribe", connection.call("userDataStream.subscribe",
                params -> connection.handler.signedRequest("userDataStream.subscribe", params)));
        JSONObject delivered = admin.post("/accounts/" + API_KEY + "/events", new JSONObject()
                .put("e", "balanceUpdate").put("a", "BTC").put("d", "0.10000000")
                .put("T", 1700000000000L));
        expect(delivered.optInt("delivered") == 1, "control plane delivered " + delivered);
        JSONObject frame = connection.awaitEvent("balanceUpdate", f -> isEvent(f, "balanceUpdate"));
        JSONObject event = Connection.payload(frame);
        expect("BTC".equals(event.optString("a")) && "0.10000000".equals(event.optString("d")),
                "balanceUpdate " + frame);
        return "userDataStream.subscribe (subscriptionId " + subscribed.opt("subscriptionId")
                + ", sent through the connector's request handler); a balanceUpdate pushed through"
                + " the control plane reached the message callback: " + event;
    }

    // 3b. The only User Data Stream calls the connector has are the listenKey ones, which
    // Binance retired on 2026-02-20 (CHANGELOG.md, 2026-01-21).
    private String listenKeyStart() throws Exception {
        connected();
        JSONObject reply = connection.call("userDataStream.start", connection.userDataStream::userDataStreamStart);
        expect(reply.optInt("status") != 200, "userDataStream.start answered " + reply);
        return "connector limitation: its only User Data Stream call, userDataStream.start"
                + " (listenKey, retired by Binance on 2026-02-20), is refused: "
                + errorCode(reply) + " \"" + errorMessage(reply).split(";")[0] + "\"";
    }

    // 4. Logged out, so that the connector itself adds apiKey, timestamp and signature.
    private String staleTimestamp() throws Exception {
        connected();
        ok("session.logout", connection.call("session.logout", connection.auth::logout));
        ok("session.status", connection.call("session.status", connection.auth::status));
        long now = admin.get("/clock").getLong("now");
        admin.post("/clock", new JSONObject().put("set", now + 10_000).put("freeze", true));
        JSONObject reply;
        JSONObject sent;
        try {
            String id = connection.nextRequestId();
            reply = connection.call("account.status", id, new JSONObject(), connection.account::accountStatus);
            sent = sentParams("account.status", id);
        } finally {
            // The clock back to live time for the steps after this one; the connection stays.
            admin.post("/reset", new JSONObject().put("connections", "keep"));
        }
        expect(sent.has("apiKey") && sent.has("timestamp") && sent.has("signature"),
                "the connector did not sign account.status: " + sent);
        expectError(reply, -1021, "recvWindow");
        return "clock frozen 10 s ahead: account.status signed by the connector got -1021 \""
                + errorMessage(reply) + "\"; the connector raises nothing, its message callback"
                + " gets the error reply as text (its README: WebSocket API replies go to the callback)";
    }

    // 5. The connector hands serverShutdown to the message callback like any other frame and
    // has no reconnect: the close reaches its closing callback and the connection is gone.
    private String serverShutdown() throws Exception {
        connected();
        ok("session.logon", connection.call("session.logon", connection.auth::logon));
        long id = ourConnection();
        JSONObject announced = admin.post("/server-shutdown",
                new JSONObject().put("connection", id).put("closeAfter", 500));
        expect(announced.optInt("announced") == 1, "control plane announced " + announced);
        JSONObject frame = connection.awaitEvent("serverShutdown", f -> isEvent(f, "serverShutdown"));
        int code = connection.awaitClose();
        expect(code == 1001, "close code " + code);
        return "serverShutdown reached the message callback as a plain frame " + frame
                + "; the connector does nothing with it (no reconnect); 500 ms later the closing"
                + " callback got " + code;
    }

    // 5b. The connector keeps "logged on" in a static field, set by any reply that carries
    // authorizedSince: it outlives the connection, so a new connection's session.logon goes
    // out as if already logged on, without apiKey, timestamp or signature.
    private String logonAfterReconnect() throws Exception {
        connection = Connection.open(url, API_KEY, signer, "java2");
        String id = connection.nextRequestId();
        JSONObject reply = connection.call("session.logon", id, new JSONObject(), connection.auth::logon);
        JSONObject sent = sentParams("session.logon", id);
        expect(!sent.has("apiKey") && !sent.has("signature"), "the connector signed it: " + sent);
        expectError(reply, -1102, "'apiKey'");
        // The fix available to a user: a session.status on the new connection (authorizedSince
        // null) clears the connector's flag; then it signs session.logon again.
        ok("session.status", connection.call("session.status", connection.auth::status));
        JSONObject logon = ok("session.logon", connection.call("session.logon", connection.auth::logon));
        expect(API_KEY.equals(logon.optString("apiKey")), "session.logon result " + logon);
        return "connector bug: after the old connection closed, session.logon on a new one went"
                + " out unsigned (sent params " + sent + "): -1102 \"" + errorMessage(reply)
                + "\"; after a session.status it signs and logs on";
    }

    // 6. On the logged-on second connection: subscribe, place a resting buy, cancel it, and
    // see both executionReports. The timestamp is passed by hand (see 2b).
    private String orderRoundTrip() throws Exception {
        connected();
        ok("userDataStream.subscribe", connection.call("userDataStream.subscribe",
                params -> connection.handler.signedRequest("userDataStream.subscribe", params)));
        JSONObject order = new JSONObject()
                .put("timeInForce", "GTC").put("price", "59000.00").put("quantity", "0.00100")
                .put("timestamp", System.currentTimeMillis());
        JSONObject placed = ok("order.place", connection.call("order.place", order,
                params -> connection.trade.newOrder(SYMBOL, "BUY", "LIMIT", params)));
        expect("NEW".equals(placed.optString("status")), "order.place result " + placed);
        long orderId = placed.getLong("orderId");
        connection.awaitEvent("executionReport NEW", f -> isReport(f, orderId, "NEW"));
        JSONObject cancel = new JSONObject().put("orderId", orderId)
                .put("timestamp", System.currentTimeMillis());
        JSONObject canceled = ok("order.cancel", connection.call("order.cancel", cancel,
                params -> connection.trade.cancelOrder(SYMBOL, params)));
        expect("CANCELED".equals(canceled.optString("status")), "order.cancel result " + canceled);
        connection.awaitEvent("executionReport CANCELED", f -> isReport(f, orderId, "CANCELED"));
        return "LIMIT BUY 0.001 " + SYMBOL + " @ 59000 placed (orderId " + orderId + ", NEW),"
                + " executionReport NEW, order.cancel CANCELED, executionReport CANCELED";
    }

    // 7. What a user writes: the URL as the client's third argument. The driver's connection
    // is built from the same parts (see Connection); this checks the line itself. The step 6
    // connection logs out first, or this client's logon would go out unsigned (5b).
    private String documentedClient() throws Exception {
        if (connection != null) {
            ok("session.logout", connection.call("session.logout", connection.auth::logout));
        }
        BlockingQueue<String> frames = new LinkedBlockingQueue<>();
        CompletableFuture<Void> opened = new CompletableFuture<>();
        WebSocketApiClientImpl client = new WebSocketApiClientImpl(API_KEY, signer, url);
        client.connect(response -> opened.complete(null), frames::add, (code, reason) -> { },
                (code, reason) -> { }, (error, response) -> opened.completeExceptionally(error));
        try {
            opened.get(Connection.WAIT.toMillis(), TimeUnit.MILLISECONDS);
            client.auth().logon(new JSONObject().put("requestId", "documented-1"));
            JSONObject logon = ok("session.logon", replyFrom(frames, "documented-1"));
            client.auth().status(new JSONObject().put("requestId", "documented-2"));
            JSONObject status = ok("session.status", replyFrom(frames, "documented-2"));
            expect(API_KEY.equals(logon.optString("apiKey")) && API_KEY.equals(status.optString("apiKey")),
                    "session.logon " + logon + ", session.status " + status);
        } finally {
            client.close();
        }
        return "new WebSocketApiClientImpl(apiKey, new Ed25519SignatureGenerator(pem), url):"
                + " session.logon and session.status show the key";
    }

    /** The frame with this id among those the callback queued, waiting up to the deadline. */
    private static JSONObject replyFrom(BlockingQueue<String> frames, String id) throws Exception {
        long deadline = System.nanoTime() + Connection.WAIT.toNanos();
        while (true) {
            String text = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (text == null) {
                throw new StepFailure("no reply to " + id + " within " + Connection.WAIT.toMillis() + " ms");
            }
            JSONObject frame = new JSONObject(text);
            if (id.equals(frame.optString("id"))) {
                return frame;
            }
        }
    }

    private void connected() throws StepFailure {
        if (connection == null) {
            throw new StepFailure("no connection (step 1 failed)");
        }
    }

    /** The mock's id for the driver's logged-on connection: the newest with the demo key. */
    private long ourConnection() throws Exception {
        JSONArray connections = admin.get("/connections").getJSONArray("connections");
        long found = -1;
        long since = Long.MIN_VALUE;
        for (int i = 0; i < connections.length(); i++) {
            JSONObject c = connections.getJSONObject(i);
            if (API_KEY.equals(c.optString("apiKey")) && c.optLong("connectedSince") >= since) {
                found = c.getLong("id");
                since = c.optLong("connectedSince");
            }
        }
        expect(found >= 0, "no connection logged on with the demo key: " + connections);
        return found;
    }

    /** The params of the request with this id as the mock received it (its journal). */
    private JSONObject sentParams(String method, String requestId) throws Exception {
        JSONArray requests = admin.get("/requests?method=" + method + "&limit=50").getJSONArray("requests");
        for (int i = requests.length() - 1; i >= 0; i--) {
            JSONObject entry = requests.getJSONObject(i);
            if (requestId.equals(entry.optString("id"))) {
                return new JSONObject(entry.getString("request")).optJSONObject("params");
            }
        }
        throw new StepFailure("the journal has no " + method + " with id " + requestId);
    }

    private static boolean isEvent(JSONObject frame, String type) {
        JSONObject event = Connection.payload(frame);
        return event != null && type.equals(event.optString("e"));
    }

    private static boolean isReport(JSONObject frame, long orderId, String execution) {
        JSONObject event = Connection.payload(frame);
        return isEvent(frame, "executionReport") && event.optLong("i") == orderId
                && execution.equals(event.optString("x"));
    }

    /** The {@code result} of a reply that has status 200, or the step fails with the reply. */
    private static JSONObject ok(String what, JSONObject reply) throws StepFailure {
        if (reply.optInt("status") != 200) {
            throw new StepFailure(what + " answered " + reply);
        }
        Object result = reply.opt("result");
        return result instanceof JSONObject ? (JSONObject) result : new JSONObject().put("result", result);
    }

    private static void expectError(JSONObject reply, int code, String inMessage) throws StepFailure {
        expect(errorCode(reply) == code && errorMessage(reply).contains(inMessage),
                "expected " + code + " (\"..." + inMessage + "...\"), got " + reply);
    }

    private static int errorCode(JSONObject reply) {
        JSONObject error = reply.optJSONObject("error");
        return error == null ? 0 : error.optInt("code");
    }

    private static String errorMessage(JSONObject reply) {
        JSONObject error = reply.optJSONObject("error");
        return error == null ? "" : error.optString("msg");
    }

    private static void expect(boolean condition, String otherwise) throws StepFailure {
        if (!condition) {
            throw new StepFailure(otherwise);
        }
    }
}
