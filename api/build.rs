//! Embeds ReDoc's standalone bundle from the pinned npm package, so `/api/redoc/` needs no CDN
//! and no third-party bundle lives in git.
//!
//! The tarball is taken from `$KEEL_REDOC_TARBALL`, else from the cache
//! (`$HOME/.cache/keel/npm/redoc-<version>.tgz`), else fetched there with `npm pack`; either
//! way its sha512 must equal the npm registry's integrity pinned below. Without npm or
//! network the api still builds, without ReDoc (the page then answers 503 saying so).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use base64::Engine;
use sha2::{Digest, Sha512};

/// The pinned ReDoc release (the 2.x line: half the weight of 3.0, CSP-clean, OpenAPI 3.1).
const REDOC_VERSION: &str = "2.5.4";
/// `npm view redoc@2.5.4 dist.integrity`.
const REDOC_INTEGRITY: &str = "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=KEEL_REDOC_TARBALL");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bundle = out.join("redoc.standalone.js");
    let embedded = match tarball().and_then(|tgz| extract(&tgz, &bundle)) {
        Ok(()) => format!(
            "Some(include_bytes!({:?}) as &[u8])",
            bundle.to_string_lossy().into_owned()
        ),
        Err(why) => {
            println!("cargo::warning=building without ReDoc (/api/redoc/ will answer 503): {why}");
            "None".to_owned()
        }
    };
    let code = format!(
        "/// The pinned ReDoc version.\npub const REDOC_VERSION: &str = {REDOC_VERSION:?};\n\
         /// `redoc.standalone.js` of that version, when the build could get it.\n\
         pub const REDOC_JS: Option<&[u8]> = {embedded};\n"
    );
    fs::write(out.join("redoc.rs"), code).expect("write redoc.rs");
}

/// The verified tarball's path.
fn tarball() -> Result<PathBuf, String> {
    if let Some(path) = env::var_os("KEEL_REDOC_TARBALL") {
        let path = PathBuf::from(path);
        println!("cargo::rerun-if-changed={}", path.display());
        verify(&path)?;
        return Ok(path);
    }
    let home = env::var_os("HOME").ok_or("HOME is not set")?;
    let cache = Path::new(&home).join(".cache/keel/npm");
    let path = cache.join(format!("redoc-{REDOC_VERSION}.tgz"));
    println!("cargo::rerun-if-changed={}", path.display());
    if !path.exists() {
        fs::create_dir_all(&cache)
            .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
        let status = Command::new("npm")
            .args(["pack", "--silent", &format!("redoc@{REDOC_VERSION}")])
            .arg("--pack-destination")
            .arg(&cache)
            .status()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !status.success() || !path.exists() {
            return Err(format!(
                "`npm pack redoc@{REDOC_VERSION}` failed ({status})"
            ));
        }
    }
    verify(&path)?;
    Ok(path)
}

/// Checks the tarball against the pinned integrity.
fn verify(path: &Path) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes));
    if format!("sha512-{digest}") == REDOC_INTEGRITY {
        Ok(())
    } else {
        Err(format!(
            "{} does not match the pinned integrity of redoc@{REDOC_VERSION}",
            path.display()
        ))
    }
}

/// ReDoc's sidebar footer loads its vendor's logo from a CDN, unconditionally; the docs pages
/// load nothing from elsewhere, so the bundle gets an inline blank SVG instead (the footer's
/// text link stays).
const CDN_LOGO: &str = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const LOCAL_LOGO: &str =
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

/// Copies `package/bundles/redoc.standalone.js` out of the tarball, without its CDN request.
fn extract(tgz: &Path, to: &Path) -> Result<(), String> {
    let output = Command::new("tar")
        .arg("-xzOf")
        .arg(tgz)
        .arg("package/bundles/redoc.standalone.js")
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(format!(
            "tar could not extract the bundle ({})",
            output.status
        ));
    }
    let js = String::from_utf8(output.stdout).map_err(|e| format!("bundle is not UTF-8: {e}"))?;
    if js.matches(CDN_LOGO).count() != 1 {
        return Err(format!(
            "expected {CDN_LOGO} once in the bundle; re-check the CDN patch"
        ));
    }
    let js = js.replace(CDN_LOGO, LOCAL_LOGO);
    if js.contains("https://cdn.") {
        return Err("the bundle loads something else from a CDN".to_owned());
    }
    fs::write(to, js).map_err(|e| format!("cannot write {}: {e}", to.display()))
}
