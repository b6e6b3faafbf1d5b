//! Files written whole or not at all.

use std::path::Path;

/// Writes `bytes` to `path` through a hidden temporary file beside it (`.NAME.tmp`) and a
/// rename, so a crash or a full disk never leaves half a file at `path`; the temporary file
/// is removed when either step fails.
pub(crate) fn write_via_temp(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
