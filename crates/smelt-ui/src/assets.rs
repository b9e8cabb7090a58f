//! The embedded front end: each file's bytes, its gzip form (made once, on first request) and
//! its `ETag`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path under `/ui/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $ty:literal),* $(,)?) => {
        /// Every file of the UI, by its path under `/ui/`.
        pub static ASSETS: &[Asset] = &[
            $(Asset { name: $name, content_type: $ty, bytes: include_bytes!(concat!("../assets/", $name)) },)*
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "util.js" => "text/javascript; charset=utf-8",
    "experiments.js" => "text/javascript; charset=utf-8",
    "runs.js" => "text/javascript; charset=utf-8",
    "run.js" => "text/javascript; charset=utf-8",
    "artifacts.js" => "text/javascript; charset=utf-8",
    "chart.js" => "text/javascript; charset=utf-8",
    "compare.js" => "text/javascript; charset=utf-8",
    "registry.js" => "text/javascript; charset=utf-8",
    "vendor/uPlot.iife.min.js" => "text/javascript; charset=utf-8",
    "vendor/uPlot.min.css" => "text/css; charset=utf-8",
}

/// What is served for one asset: the plain and compressed bodies and the entity tag.
struct Prepared {
    gzip: Vec<u8>,
    etag: HeaderValue,
}

fn prepared(index: usize) -> &'static Prepared {
    static ALL: OnceLock<Vec<OnceLock<Prepared>>> = OnceLock::new();
    let all = ALL.get_or_init(|| ASSETS.iter().map(|_| OnceLock::new()).collect());
    all[index].get_or_init(|| {
        let bytes = ASSETS[index].bytes;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let gzip = std::io::Write::write_all(&mut gz, bytes)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        let hash = blake3::hash(bytes).to_hex();
        let etag = HeaderValue::from_str(&format!("\"{}\"", &hash[..16]))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Prepared { gzip, etag }
    })
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.trim().split(';');
            parts.next().is_some_and(|n| n.trim() == "gzip")
                && !parts.any(|q| q.trim().replace(' ', "") == "q=0")
        })
}

/// For work on the front end: with `SMELT_UI_DIR` set to `crates/smelt-ui/assets`, the files
/// are read from there on every request (only the names listed in [`ASSETS`]), so an edit shows
/// on reload without rebuilding the binary.
fn dev_dir() -> Option<&'static std::path::Path> {
    static DIR: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("SMELT_UI_DIR").map(std::path::PathBuf::from))
        .as_deref()
}

/// Answers with asset `index`: 304 when the client's copy is current, gzip when accepted.
fn serve(index: usize, headers: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    if let Some(dir) = dev_dir() {
        let path = dir.join(asset.name);
        return match std::fs::read(&path) {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => (
                StatusCode::NOT_FOUND,
                format!("SMELT_UI_DIR: {}: {e}", path.display()),
            )
                .into_response(),
        };
    }
    let p = prepared(index);
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, p.etag.clone());
    // Always revalidate (a new binary may ship new files); the ETag makes that a 304.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.name == "index.html" {
        // Scripts and styles only from here; reports open in sandboxed frames of this origin.
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data: blob:; frame-src 'self'; object-src 'none'; base-uri 'none'",
            ),
        );
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == p.etag.to_str().unwrap_or(""))
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if accepts_gzip(headers) && !p.gzip.is_empty() {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (out, p.gzip.clone()).into_response()
    } else {
        (out, asset.bytes).into_response()
    }
}

fn position(name: &str) -> Option<usize> {
    ASSETS.iter().position(|a| a.name == name)
}

pub(crate) async fn index(headers: HeaderMap) -> Response {
    position("index.html").map_or_else(
        || StatusCode::NOT_FOUND.into_response(),
        |i| serve(i, &headers),
    )
}

pub(crate) async fn favicon(headers: HeaderMap) -> Response {
    position("favicon.svg").map_or_else(
        || StatusCode::NOT_FOUND.into_response(),
        |i| serve(i, &headers),
    )
}

pub(crate) async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match position(&name) {
        Some(i) => serve(i, &headers),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no UI file {name:?}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_negotiated() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn every_asset_compresses_and_round_trips() {
        for (i, a) in ASSETS.iter().enumerate() {
            let p = prepared(i);
            let mut d = flate2::read::GzDecoder::new(&p.gzip[..]);
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut d, &mut back).expect("gzip decodes");
            assert_eq!(back, a.bytes, "{}", a.name);
        }
    }
}
