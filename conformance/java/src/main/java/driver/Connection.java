package driver;

import com.binance.connector.client.impl.websocketapi.WebSocketApiAccount;
import com.binance.connector.client.impl.websocketapi.WebSocketApiAuth;
import com.binance.connector.client.impl.websocketapi.WebSocketApiTrade;
import com.binance.connector.client.impl.websocketapi.WebSocketApiUserDataStream;
import com.binance.connector.client.utils.RequestBuilder;
import com.binance.connector.client.utils.WebSocketConnection;
import com.binance.connector.client.utils.httpclient.WebSocketApiHttpClientSingleton;
import com.binance.connector.client.utils.signaturegenerator.SignatureGenerator;
import com.binance.connector.client.utils.websocketapi.WebSocketApiRequestHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.json.JSONObject;

/**
 * One WebSocket API connection, assembled from the connector's own public parts exactly as
 * {@code WebSocketApiClientImpl.connect} assembles them: a {@link WebSocketConnection} on the
 * URL, a {@link WebSocketApiRequestHandler} that adds the key, timestamp and signature, and the
 * typed modules on that handler. The driver builds them itself, instead of calling
 * {@code new WebSocketApiClientImpl(apiKey, signer, url)}, only to reach the handler: the
 * connector has no typed method for {@code userDataStream.subscribe}, and the handler's
 * {@code signedRequest(method, params)} is how every typed method sends.
 *
 * <p>The connector hands every frame it receives to one message callback as text; this class
 * matches replies to requests by id (the connector takes the id from the {@code requestId}
 * parameter) and keeps everything else as events to wait for.
 */
final class Connection implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(5);

    final WebSocketApiRequestHandler handler;
    final WebSocketApiAuth auth;
    final WebSocketApiAccount account;
    final WebSocketApiTrade trade;
    final WebSocketApiUserDataStream userDataStream;

    private final WebSocketConnection socket;
    private final String name;
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<String, CompletableFuture<JSONObject>> pending = new ConcurrentHashMap<>();
    private final List<JSONObject> events = new ArrayList<>();
    private final CompletableFuture<Void> opened = new CompletableFuture<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();

    private Connection(String url, String apiKey, SignatureGenerator signer, String name) {
        this.name = name;
        this.socket = new WebSocketConnection(
                response -> opened.complete(null),
                this::received,
                (code, reason) -> closed.complete(code),
                (code, reason) -> closed.complete(code),
                (error, response) -> {
                    opened.completeExceptionally(error);
                    closed.completeExceptionally(error);
                },
                RequestBuilder.buildWebSocketRequest(url),
                WebSocketApiHttpClientSingleton.getHttpClient());
        this.handler = new WebSocketApiRequestHandler(socket, apiKey, signer);
        this.auth = new WebSocketApiAuth(handler);
        this.account = new WebSocketApiAccount(handler);
        this.trade = new WebSocketApiTrade(handler);
        this.userDataStream = new WebSocketApiUserDataStream(handler);
    }

    /** Connects and waits for the handshake; {@code name} prefixes the request ids. */
    static Connection open(String url, String apiKey, SignatureGenerator signer, String name)
            throws Exception {
        Connection connection = new Connection(url, apiKey, signer, name);
        connection.socket.connect();
        await(connection.opened, "the WebSocket handshake with " + url);
        return connection;
    }

    /** A request id no other request of this driver uses, to find the request in the journal. */
    String nextRequestId() {
        return name + "-" + nextId.getAndIncrement();
    }

    /**
     * Sends one request through {@code send} (a connector method given {@code params}, to which
     * this adds {@code requestId}, which the connector sends as the request's id) and returns
     * its reply frame: {@code status}, then {@code result} or {@code error}.
     */
    JSONObject call(String what, String id, JSONObject params, Consumer<JSONObject> send)
            throws Exception {
        CompletableFuture<JSONObject> reply = new CompletableFuture<>();
        pending.put(id, reply);
        try {
            send.accept(params.put("requestId", id));
            return await(reply, "reply to " + what);
        } finally {
            pending.remove(id);
        }
    }

    JSONObject call(String what, JSONObject params, Consumer<JSONObject> send) throws Exception {
        return call(what, nextRequestId(), params, send);
    }

    JSONObject call(String what, Consumer<JSONObject> send) throws Exception {
        return call(what, new JSONObject(), send);
    }

    /** The first frame without a request id for which {@code matches} holds, seen or to come. */
    JSONObject awaitEvent(String what, Predicate<JSONObject> matches) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        synchronized (events) {
            while (true) {
                for (JSONObject event : events) {
                    if (matches.test(event)) {
                        return event;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new StepFailure("no " + what + " within " + WAIT.toMillis()
                            + " ms; frames without an id so far: " + events);
                }
                TimeUnit.NANOSECONDS.timedWait(events, left);
            }
        }
    }

    /** The close code the connector reports, once the server closes the connection. */
    int awaitClose() throws Exception {
        return await(closed, "the connection to close");
    }

    /** The User Data Stream payload of an event frame ({@code {"event": {...}}}), or null. */
    static JSONObject payload(JSONObject frame) {
        return frame.optJSONObject("event");
    }

    @Override
    public void close() {
        socket.close();
    }

    /** Stops the connector's shared HTTP client, whose threads would keep the JVM alive. */
    static void shutDownConnector() {
        WebSocketApiHttpClientSingleton.getHttpClient().dispatcher().executorService().shutdown();
        WebSocketApiHttpClientSingleton.getHttpClient().connectionPool().evictAll();
    }

    private void received(String text) {
        JSONObject frame;
        try {
            frame = new JSONObject(text);
        } catch (RuntimeException notJson) {
            frame = new JSONObject().put("unparsed", text);
        }
        CompletableFuture<JSONObject> reply = pending.get(frame.optString("id"));
        if (reply != null) {
            reply.complete(frame);
            return;
        }
        synchronized (events) {
            events.add(frame);
            events.notifyAll();
        }
    }

    private static <T> T await(CompletableFuture<T> future, String what) throws Exception {
        try {
            return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new StepFailure("no " + what + " within " + WAIT.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw new StepFailure(what + " failed: " + e.getCause());
        }
    }
}
