package dev.bluegreen.proxy.admin;

/**
 * One HTTP request to the admin API, as the API sees it: no Netty types, so the API is testable without
 * a socket.
 *
 * @param method        {@code GET}, {@code POST}, …
 * @param path          the decoded path, without the query string
 * @param authorization the {@code Authorization} header, or null
 * @param body          the request body, empty when none was sent
 * @param remote        the caller's address, for the audit
 */
record AdminRequest(String method, String path, String authorization, byte[] body, String remote) {

    AdminRequest {
        body = body == null ? new byte[0] : body;
    }
}
