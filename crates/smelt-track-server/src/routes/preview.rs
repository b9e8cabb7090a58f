//! HTML artifacts shown inline by the web UI (`/get-artifact?...&preview=html`).
//!
//! Every other download stays an attachment. An HTML report is answered inline, sandboxed by the
//! response itself: the CSP `sandbox` directive gives the page an opaque origin (it cannot read
//! this server's cookies, storage or API, even when opened directly in a tab), and nothing may be
//! fetched — only the page's own inline styles, scripts and `data:` images run.

use axum::http::{HeaderMap, HeaderValue, header};

/// Rewrites a download's headers for an inline, sandboxed view when `path` is an HTML file.
pub(crate) fn sandboxed_html(path: &str, headers: &mut HeaderMap) {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if ext != "html" && ext != "htm" {
        return;
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; \
             style-src 'unsafe-inline'; img-src data: blob:; font-src data:",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_html_is_made_inline_and_sandboxed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
        sandboxed_html("a/b/notes.txt", &mut h);
        assert_eq!(h[header::CONTENT_DISPOSITION], "attachment");
        assert!(h.get(header::CONTENT_SECURITY_POLICY).is_none());
        sandboxed_html("a/report.HTML", &mut h);
        assert_eq!(h[header::CONTENT_DISPOSITION], "inline");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap_or("");
        assert!(csp.starts_with("sandbox allow-scripts;") && csp.contains("default-src 'none'"));
    }
}
