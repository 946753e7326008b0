//! The sign-in page: plain HTML with one inline stylesheet, no script, no external asset, under a
//! Content-Security-Policy that allows that stylesheet (by its SHA-256) and posting the form back
//! to this origin, nothing else. Every text it shows (the Taiga server, the client's name, the
//! username typed, Taiga's messages) is escaped.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};
use sha2::{Digest, Sha256};

/// The page's only style: a centred card, the system's fonts, readable on a phone.
const STYLE: &str = "\
:root{color-scheme:light dark;--ink:#1f2933;--muted:#52606d;--line:#cbd2d9;--card:#fff;--page:#f0f4f8;\
--accent:#2f6f5e;--alert:#9b1c1c}\
@media (prefers-color-scheme:dark){:root{--ink:#e4e7eb;--muted:#9aa5b1;--line:#3e4c59;--card:#1f2933;\
--page:#12181f;--accent:#5fb49c;--alert:#f29b9b}}\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem;\
background:var(--page);color:var(--ink);font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{width:100%;max-width:26rem;background:var(--card);border:1px solid var(--line);border-radius:12px;\
padding:1.75rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:1.35rem;margin:0 0 .75rem}\
p{margin:.5rem 0}\
.who{color:var(--muted);font-size:.95rem}\
.host{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;word-break:break-all}\
label{display:block;font-weight:600;margin:1rem 0 .35rem}\
input{width:100%;font:inherit;padding:.6rem .7rem;border:1px solid var(--line);border-radius:8px;\
background:var(--page);color:var(--ink)}\
input:focus{outline:2px solid var(--accent);outline-offset:1px}\
button{width:100%;margin-top:1.25rem;font:inherit;font-weight:600;padding:.7rem;border:0;border-radius:8px;\
background:var(--accent);color:#fff;cursor:pointer}\
.alert{color:var(--alert);font-weight:600}\
.note{color:var(--muted);font-size:.85rem;margin-top:1.25rem}";

/// The policy: the stylesheet above by its hash, the form posted back here, nothing else.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ))
    .expect("a base64 hash is a valid header value")
});

/// The cookie carrying one link's CSRF token: its own name per link (from the link's store key,
/// not its secret id), so that two open links do not overwrite each other's token.
pub fn cookie_name(key: &str) -> String {
    format!("taiga_sign_in_{}", &key[..16.min(key.len())])
}

/// What the form shows.
pub struct Form<'a> {
    /// The Taiga server the user signs in to.
    pub taiga_url: &'a str,
    /// The MCP client that asked, when it said its name.
    pub client: Option<&'a str>,
    /// The username to fill in.
    pub username: &'a str,
    /// The link's CSRF token.
    pub csrf: &'a str,
    /// The name of the link's CSRF cookie.
    pub cookie: &'a str,
    /// Why the last attempt failed, if it did.
    pub error: Option<&'a str>,
    /// Whether the page is served over HTTPS (the cookie is then `Secure`).
    pub secure: bool,
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <main>\n{body}</main>\n</body>\n</html>\n",
        text(title)
    )
}

/// Sets the page's security headers on any answer of its routes, the framework's refusals too.
pub async fn harden(mut response: Response) -> Response {
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The sign-in form, setting the CSRF cookie the post must bring back.
pub fn form(status: StatusCode, form: &Form<'_>) -> Response {
    let error = form
        .error
        .map(|message| format!("<p class=\"alert\" role=\"alert\">{}</p>\n", text(message)))
        .unwrap_or_default();
    let asker = match form.client {
        Some(name) if !name.trim().is_empty() => format!("<strong>{}</strong>", text(name)),
        _ => "Your AI assistant".to_owned(),
    };
    let body = format!(
        "<h1>Sign in to Taiga</h1>\n\
         <p class=\"who\">{asker} asks to work in Taiga for you, at</p>\n\
         <p class=\"host\">{taiga}</p>\n{error}\
         <form method=\"post\" action=\"\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"username\">Taiga username or email</label>\n\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"note\">Your password goes to that Taiga server only: not to the assistant, not into the \
         conversation. This bridge keeps only the session Taiga gives it.</p>\n",
        taiga = text(form.taiga_url),
        csrf = attribute(form.csrf),
        username = attribute(form.username),
    );
    let mut response = respond(status, document("Sign in to Taiga", &body));
    let secure = if form.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/sign-in/; HttpOnly; SameSite=Strict{secure}",
        form.cookie, form.csrf
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The page after a successful sign-in.
pub fn signed_in(username: &str) -> Response {
    let body = format!(
        "<h1>Signed in</h1>\n<p>You are signed in to Taiga as <strong>{}</strong>. You can close this tab.</p>\n",
        text(username)
    );
    respond(StatusCode::OK, document("Signed in to Taiga", &body))
}

/// The page for a link that has expired, was used, or never existed.
pub fn gone() -> Response {
    respond(
        StatusCode::GONE,
        document(
            "Sign-in link expired",
            "<h1>This sign-in link has expired or was already used</h1>\n\
             <p>Ask your assistant to sign in to Taiga again for a new link. You can close this tab.</p>\n",
        ),
    )
}

/// The page for a post that did not come from this link's form.
pub fn forbidden() -> Response {
    respond(
        StatusCode::FORBIDDEN,
        document(
            "Sign-in refused",
            "<h1>This form was not sent from its sign-in page</h1>\n\
             <p>Open the sign-in link your assistant gave you again, and sign in from there.</p>\n",
        ),
    )
}

/// The page for a request whose `Host` this server does not answer to (DNS rebinding).
pub fn wrong_host() -> Response {
    respond(
        StatusCode::MISDIRECTED_REQUEST,
        document(
            "Wrong address",
            "<h1>This page is not served at this address</h1>\n\
             <p>Open the sign-in link exactly as your assistant gave it.</p>\n",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn html(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_text_is_escaped_and_the_policy_allows_only_its_own_style() {
        let hostile = "<script>alert(1)</script>\"'";
        let response = harden(form(
            StatusCode::OK,
            &Form {
                taiga_url: hostile,
                client: Some(hostile),
                username: hostile,
                csrf: "token",
                cookie: "taiga_sign_in_0123456789abcdef",
                error: Some(hostile),
                secure: true,
            },
        ))
        .await;
        let headers = response.headers().clone();
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("taiga_sign_in_0123456789abcdef=token;"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.ends_with("Secure"));
        let page = html(response).await;
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(
            !page.contains("src=") && !page.contains("href="),
            "no external asset: {page}"
        );
        // The stylesheet the policy allows is exactly the one the page carries.
        let style = page.split("<style>").nth(1).unwrap().split("</style>").next().unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        let done = html(signed_in(hostile)).await;
        assert!(!done.contains("<script>") && done.contains("You can close this tab."));
    }
}
