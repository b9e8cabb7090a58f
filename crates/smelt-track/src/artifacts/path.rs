//! [`ArtifactPath`]: a relative artifact path checked once, at the edge, so that no store
//! operation can be pointed outside its root.
//!
//! The rules, and why each exists (MLflow has shipped a fix for every one of these tricks):
//!
//! | input | verdict |
//! |---|---|
//! | `""`, `"/"`-free relative paths such as `model/MLmodel` | accepted; `""` is the root |
//! | one trailing `/` (`model/`) | accepted, dropped (MLflow accepts `path/`) |
//! | a leading `/`, `C:`/`c:` drive or `scheme:` prefix, `\\server` | refused: absolute |
//! | `..` components | refused |
//! | `.` components | refused, not normalised: a client that sends them is confused or probing |
//! | components made only of dots and spaces (`...`, `.. `) | refused (Windows folds them to `..`) |
//! | empty components (`a//b`) | refused |
//! | `\` anywhere | refused: a second separator on Windows |
//! | `%` followed by two hex digits (`%2e`, `%2F`, `%252e`, `%00`, `%c0%af`) | refused |
//! | `#` | refused: a URL fragment, and the local store's staging-file suffix |
//! | NUL, other C0/C1 control characters, DEL | refused |
//! | Unicode look-alikes of `/`, `\` and `.` (`∕`, `／`, `＼`, `．`, `․`, `﹒`, `⁄`) | refused |
//! | more than 1024 bytes in all, or a component over 255 bytes | refused |
//!
//! Percent-encoded text is refused outright rather than decoded and re-checked: the HTTP layer
//! decodes a request path once, so a `%XX` that survives is either a double encoding (an attack)
//! or a literal file name nobody needs, and refusing it removes the question of how many rounds
//! of decoding are enough.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, TrackError};

/// Most bytes an artifact path may have in all.
pub const MAX_PATH_BYTES: usize = 1024;

/// Most bytes one component may have (`NAME_MAX` on Linux and most file systems).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Characters that render as `/`, `\` or `.` and that some layers (NFKC normalisation, some
/// Windows code pages) turn into them.
const LOOKALIKES: &[char] = &[
    '\u{2215}', // DIVISION SLASH
    '\u{2044}', // FRACTION SLASH
    '\u{FF0F}', // FULLWIDTH SOLIDUS
    '\u{29F5}', // REVERSE SOLIDUS OPERATOR
    '\u{FE68}', // SMALL REVERSE SOLIDUS
    '\u{FF3C}', // FULLWIDTH REVERSE SOLIDUS
    '\u{FF0E}', // FULLWIDTH FULL STOP
    '\u{2024}', // ONE DOT LEADER
    '\u{FE52}', // SMALL FULL STOP
];

/// A validated artifact path, relative to a store's root, with `/` as its only separator.
///
/// Held without leading or trailing `/`; the empty path is the root.
///
/// ```
/// use smelt_track::artifacts::ArtifactPath;
///
/// let p = ArtifactPath::parse("model/MLmodel").unwrap();
/// assert_eq!(p.as_str(), "model/MLmodel");
/// assert_eq!(p.file_name(), Some("MLmodel"));
/// assert!(ArtifactPath::parse("../etc/passwd").is_err());
/// assert!(ArtifactPath::parse("%2e%2e/etc/passwd").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// The root of the store (the empty path).
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Checks `input` against the rules in the module documentation.
    pub fn parse(input: &str) -> Result<Self> {
        let unsafe_path = |reason: &'static str| TrackError::UnsafePath {
            path: input.to_string(),
            reason,
        };
        if input.len() > MAX_PATH_BYTES {
            return Err(unsafe_path("longer than 1024 bytes"));
        }
        if input.is_empty() {
            return Ok(Self::root());
        }
        if let Some(c) = input.chars().find(|c| c.is_control()) {
            return Err(unsafe_path(if c == '\0' {
                "contains a NUL byte"
            } else {
                "contains a control character"
            }));
        }
        if input.starts_with('/') {
            return Err(unsafe_path("is absolute"));
        }
        if input.contains('\\') {
            return Err(unsafe_path("contains a backslash"));
        }
        if has_percent_escape(input) {
            return Err(unsafe_path("contains a percent-encoded byte"));
        }
        if input.contains('#') {
            return Err(unsafe_path("contains `#`"));
        }
        if input.contains(LOOKALIKES) {
            return Err(unsafe_path("contains a look-alike of `/`, `\\` or `.`"));
        }
        let trimmed = input.strip_suffix('/').unwrap_or(input);
        for (i, part) in trimmed.split('/').enumerate() {
            if i == 0 && has_scheme_or_drive(part) {
                return Err(unsafe_path("starts with a drive or URI scheme"));
            }
            check_component(part).map_err(unsafe_path)?;
        }
        Ok(Self(trimmed.to_string()))
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as text: components joined by `/`, no leading or trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, root first; none for the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The last component; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        self.components().last()
    }

    /// The path one level up; `None` for the root.
    pub fn parent(&self) -> Option<ArtifactPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((head, _)) => Self(head.to_string()),
            None => Self::root(),
        })
    }

    /// `self/child`, checking `child` and the length of the result.
    pub fn join(&self, child: &str) -> Result<ArtifactPath> {
        let child = Self::parse(child)?;
        self.join_path(&child)
    }

    /// `self/child` for a child already checked; fails only on the total length.
    pub fn join_path(&self, child: &ArtifactPath) -> Result<ArtifactPath> {
        let joined = match (self.is_root(), child.is_root()) {
            (true, _) => child.0.clone(),
            (false, true) => self.0.clone(),
            (false, false) => format!("{}/{}", self.0, child.0),
        };
        if joined.len() > MAX_PATH_BYTES {
            return Err(TrackError::UnsafePath {
                path: joined,
                reason: "longer than 1024 bytes",
            });
        }
        Ok(Self(joined))
    }

    /// Whether `self` is `base` or lies under it, component-wise (`ab` is not under `a`).
    pub fn starts_with(&self, base: &ArtifactPath) -> bool {
        base.is_root()
            || self.0 == base.0
            || (self.0.starts_with(&base.0) && self.0.as_bytes().get(base.0.len()) == Some(&b'/'))
    }
}

/// One component: not empty, not `.`/`..` or only dots and spaces, not too long.
fn check_component(part: &str) -> std::result::Result<(), &'static str> {
    if part.is_empty() {
        return Err("has an empty component");
    }
    if part == "." {
        return Err("has a `.` component");
    }
    if part == ".." {
        return Err("has a `..` component");
    }
    if part.chars().all(|c| c == '.' || c == ' ') {
        return Err("has a component made only of dots and spaces");
    }
    if part.len() > MAX_COMPONENT_BYTES {
        return Err("has a component longer than 255 bytes");
    }
    Ok(())
}

/// `%` followed by two hex digits anywhere.
fn has_percent_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// `C:` (a drive) or `file:`/`s3:` (a URI scheme) at the start of the first component.
fn has_scheme_or_drive(first: &str) -> bool {
    let Some((scheme, _)) = first.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ArtifactPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ArtifactPath {
    type Err = TrackError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ArtifactPath {
    type Error = TrackError;

    fn try_from(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &str) -> &'static str {
        match ArtifactPath::parse(input) {
            Err(TrackError::UnsafePath { path, reason }) => {
                assert_eq!(path, input, "the error names the path as given");
                reason
            }
            other => panic!("`{input}` should be refused, got {other:?}"),
        }
    }

    fn ok(input: &str) -> String {
        match ArtifactPath::parse(input) {
            Ok(p) => p.0,
            Err(e) => panic!("`{input}` should be accepted: {e}"),
        }
    }

    #[test]
    fn accepts_ordinary_paths() {
        // MLflow's own good cases (tests/tracking/test_rest_tracking.py,
        // test_validate_path_is_safe_good): "path", "path/", "path/to/file".
        assert_eq!(ok("path"), "path");
        assert_eq!(ok("path/"), "path");
        assert_eq!(ok("path/to/file"), "path/to/file");
        assert_eq!(ok("model/MLmodel"), "model/MLmodel");
        assert_eq!(ok(".hidden/file.tar.gz"), ".hidden/file.tar.gz");
        assert_eq!(ok("a..b/c..."), "a..b/c...");
        assert_eq!(ok("50% done/x"), "50% done/x"); // `%` without two hex digits is literal
        assert_eq!(
            ok("name with spaces/ünïcödé.txt"),
            "name with spaces/ünïcödé.txt"
        );
        // A colon is fine past the first component, or after a non-letter start; `run:1` as a
        // first component reads as a URI scheme and is refused (see the scheme test).
        assert_eq!(ok("a/run:1"), "a/run:1");
        assert_eq!(ok("1:x"), "1:x");
        assert_eq!(ok(""), "");
        assert!(ArtifactPath::parse("").is_ok_and(|p| p.is_root()));
    }

    #[test]
    fn refuses_parent_components() {
        // mlflow/mlflow#7166 (fixed by #7170): `GET /get-artifact?path=../../../../etc/passwd`
        // read any file; the bad cases of test_validate_path_is_safe_bad follow.
        for p in [
            "../path",
            "../../path",
            "./../path",
            "path/../to/file",
            "path/../../to/file",
            "..",
            "a/..",
            "../../../../../../etc/passwd",
        ] {
            let r = reason(p);
            assert!(r.contains("`..`") || r.contains("`.`"), "{p}: {r}");
        }
    }

    #[test]
    fn refuses_dot_components_instead_of_normalising() {
        assert_eq!(reason("."), "has a `.` component");
        assert_eq!(reason("./model"), "has a `.` component");
        assert_eq!(reason("a/./b"), "has a `.` component");
    }

    #[test]
    fn refuses_dot_and_space_only_components() {
        // Windows strips trailing dots and spaces, so `... ` and `.. ` name the parent there;
        // ".../...//" is one of the payloads in MLflow's path tests.
        assert_eq!(
            reason("..."),
            "has a component made only of dots and spaces"
        );
        assert_eq!(
            reason(".. /x"),
            "has a component made only of dots and spaces"
        );
        assert_eq!(reason(" "), "has a component made only of dots and spaces");
        assert!(ArtifactPath::parse(".../...//").is_err());
    }

    #[test]
    fn refuses_absolute_paths() {
        // test_validate_path_is_safe_bad: "/path"; #7166's payload in absolute form.
        assert_eq!(reason("/path"), "is absolute");
        assert_eq!(reason("/etc/passwd"), "is absolute");
        assert_eq!(reason("//server/share"), "is absolute");
        assert_eq!(reason("/"), "is absolute");
    }

    #[test]
    fn refuses_windows_drives_unc_and_uri_schemes() {
        // mlflow/mlflow#8999: validate_path_is_safe did not catch `C:\...` or `\\server` on
        // Windows; #11376 and #19260: `file:` URIs as paths reached local files.
        assert_eq!(reason("C:\\Windows\\win.ini"), "contains a backslash");
        assert_eq!(reason("\\\\server\\share"), "contains a backslash");
        assert_eq!(
            reason("C:/Windows/win.ini"),
            "starts with a drive or URI scheme"
        );
        assert_eq!(reason("c:"), "starts with a drive or URI scheme");
        assert_eq!(
            reason("file:etc/passwd"),
            "starts with a drive or URI scheme"
        );
        assert!(ArtifactPath::parse("file:///etc/passwd").is_err());
        assert!(ArtifactPath::parse("file://../../../../etc/passwd").is_err());
        assert_eq!(reason("s3:bucket/key"), "starts with a drive or URI scheme");
        assert_eq!(reason("run:1"), "starts with a drive or URI scheme");
    }

    #[test]
    fn refuses_backslashes() {
        // mlflow/mlflow#8999: `..\..\etc\passwd` is traversal on Windows.
        assert_eq!(reason("..\\..\\etc\\passwd"), "contains a backslash");
        assert_eq!(reason("a\\b"), "contains a backslash");
    }

    #[test]
    fn refuses_percent_encoded_traversal() {
        // mlflow/mlflow#10650: paths were checked before being decoded, so `%2e%2e%2f` passed
        // the check and became `../` afterwards.
        for p in [
            "%2e%2e/etc/passwd",
            "%2E%2E%2Fetc%2Fpasswd",
            "..%2f..%2fetc%2fpasswd",
            "%2fetc%2fpasswd",
            "a%2fb",
            ".%2e/x",
            "%5c..%5cx", // encoded backslash
        ] {
            assert_eq!(reason(p), "contains a percent-encoded byte", "{p}");
        }
    }

    #[test]
    fn refuses_double_encoding() {
        // The same bypass one layer deeper: `%252e` decodes to `%2e`, then to `.`.
        for p in [
            "%252e%252e%252fetc%252fpasswd",
            ".%252e/.%252e/etc/passwd",
            "..%252f..%252fetc",
        ] {
            assert_eq!(reason(p), "contains a percent-encoded byte", "{p}");
        }
    }

    #[test]
    fn refuses_overlong_utf8_and_encoded_nul() {
        // `%c0%af` is an overlong `/`; `%00` truncates paths in C-backed layers (payloads
        // such as `/etc/passwd%00.jpg` appear in MLflow's path tests).
        assert_eq!(
            reason("..%c0%af..%c0%afetc"),
            "contains a percent-encoded byte"
        );
        assert_eq!(reason("passwd%00.jpg"), "contains a percent-encoded byte");
    }

    #[test]
    fn refuses_nul_and_control_characters() {
        // mlflow/mlflow#11800: `urlparse` drops tab and newline, so an encoded `\t` or `\n` let
        // a path change meaning after it had been checked.
        assert_eq!(reason("a\0b"), "contains a NUL byte");
        assert_eq!(reason("a\tb"), "contains a control character");
        assert_eq!(reason("a\nb"), "contains a control character");
        assert_eq!(reason("a\rb"), "contains a control character");
        assert_eq!(reason(".\t./x"), "contains a control character");
        assert_eq!(reason("a\u{7f}"), "contains a control character");
        assert_eq!(reason("a\u{85}b"), "contains a control character"); // C1 NEXT LINE
    }

    #[test]
    fn refuses_fragments() {
        // mlflow/mlflow#11376: a `#fragment` made the part of a URL after it vanish on the way
        // to the store; `#` is also the local store's staging-file suffix (`name#1`).
        assert_eq!(reason("a#/../../etc"), "contains `#`");
        assert_eq!(reason("model.bin#1"), "contains `#`");
    }

    #[test]
    fn refuses_unicode_lookalikes() {
        for p in [
            "..\u{2215}..\u{2215}etc",
            "\u{FF0E}\u{FF0E}/etc",
            "a\u{FF0F}b",
            "a\u{FF3C}b",
            "\u{2024}\u{2024}/x",
        ] {
            assert_eq!(
                reason(p),
                "contains a look-alike of `/`, `\\` or `.`",
                "{p}"
            );
        }
    }

    #[test]
    fn refuses_empty_components() {
        assert_eq!(reason("a//b"), "has an empty component");
        assert_eq!(reason("a//"), "has an empty component");
    }

    #[test]
    fn refuses_overlong_paths() {
        let long = "a/".repeat(600);
        assert_eq!(reason(&long), "longer than 1024 bytes");
        let component = "x".repeat(256);
        assert_eq!(reason(&component), "has a component longer than 255 bytes");
        assert!(ArtifactPath::parse(&"x".repeat(255)).is_ok());
        let deep = ArtifactPath::parse(&"a/".repeat(300)).unwrap_or_default();
        assert!(
            deep.join(&"b/".repeat(300)).is_err(),
            "join checks the total length"
        );
    }

    #[test]
    fn joins_and_navigates() -> Result<()> {
        let root = ArtifactPath::root();
        let model = root.join("model")?;
        assert_eq!(model.as_str(), "model");
        let file = model.join("data/weights.bin")?;
        assert_eq!(file.as_str(), "model/data/weights.bin");
        assert_eq!(file.file_name(), Some("weights.bin"));
        assert_eq!(file.parent().map(|p| p.0), Some("model/data".to_string()));
        assert_eq!(model.parent(), Some(ArtifactPath::root()));
        assert_eq!(root.parent(), None);
        assert!(file.starts_with(&model));
        assert!(!ArtifactPath::parse("modelx")?.starts_with(&model));
        assert!(model.starts_with(&root));
        assert!(model.join("../x").is_err());
        assert_eq!(
            file.components().collect::<Vec<_>>(),
            ["model", "data", "weights.bin"]
        );
        assert_eq!(root.components().count(), 0);
        Ok(())
    }

    #[test]
    fn error_wording() {
        let err = ArtifactPath::parse("../x").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid artifact path `../x`: has a `..` component")
        );
    }
}
