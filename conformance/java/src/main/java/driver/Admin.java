package driver;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.json.JSONObject;

/** The mock's control plane: plain HTTP with JSON bodies on the WebSocket URL's host and port. */
final class Admin {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    /** {@code ws://HOST:PORT/ws-api/v3} gives {@code http://HOST:PORT/__admin}. */
    Admin(String wsUrl) {
        URI uri = URI.create(wsUrl);
        String scheme = uri.getScheme().equals("wss") ? "https" : "http";
        this.base = scheme + "://" + uri.getAuthority() + "/__admin";
    }

    JSONObject get(String path) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET(), path);
    }

    JSONObject post(String path, JSONObject body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        return send(request, path);
    }

    private JSONObject send(HttpRequest.Builder request, String path) throws Exception {
        HttpResponse<String> response =
                http.send(request.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new StepFailure("control plane " + path + " answered " + response.statusCode()
                    + ": " + response.body());
        }
        return new JSONObject(response.body());
    }
}
