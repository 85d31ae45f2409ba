//! Cross-site request refusal: a request with a method that changes something
//! (anything but GET, HEAD, OPTIONS) that the session cookie authenticates must
//! come from this site's own pages. Browsers say where a request comes from in
//! `Sec-Fetch-Site` (or, older ones, `Origin`); one from another origin is 403,
//! whatever the cookie's SameSite lets through (a same-site page on another
//! port or subdomain gets Lax cookies). A request with neither header is not
//! from a browser page (curl, a test) and has no victim to forge for. API calls
//! with a Bearer token live on their own router and are unaffected.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether a request with these headers may go on.
pub fn allowed(method: &Method, fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = fetch_site {
        // "none": the user's own navigation (a bookmark, the address bar).
        return matches!(site, "same-origin" | "none");
    }
    match (origin, host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

/// The middleware: 403 for a cross-origin unsafe request.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    let ok =
        allowed(request.method(), text("sec-fetch-site"), text(header::ORIGIN.as_str()), text(header::HOST.as_str()));
    if ok {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin {} request", request.method());
        (StatusCode::FORBIDDEN, "cross-origin request refused: post from this site's own pages").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sites_pages_may_change_things_with_the_cookie() {
        let host = Some("arena.example:3000");
        let post = Method::POST;
        assert!(allowed(&Method::GET, Some("cross-site"), Some("https://evil.example"), host), "reading is safe");
        assert!(allowed(&post, Some("same-origin"), Some("http://arena.example:3000"), host));
        assert!(!allowed(&post, Some("same-site"), Some("http://arena.example:3001"), host), "another port");
        assert!(!allowed(&post, Some("cross-site"), Some("https://evil.example"), host));
        assert!(allowed(&post, None, Some("http://arena.example:3000"), host), "an older browser's Origin");
        assert!(allowed(&post, None, Some("https://ARENA.example:3000"), host));
        assert!(!allowed(&post, None, Some("https://evil.example"), host));
        assert!(!allowed(&post, None, Some("null"), host), "a sandboxed or file: page");
        assert!(!allowed(&Method::DELETE, None, Some("http://arena.example:3001"), host));
        assert!(allowed(&post, None, None, host), "not a browser page: curl, a script");
    }
}
