//! Files written whole or not at all, and files read only up to a size limit.

use std::io::Read;
use std::path::Path;

/// Reads `path` whole unless it holds more than `limit` bytes: the length in its metadata is
/// checked before anything is read (a 13 GB sparse file fails at once), and the read itself
/// stops past `limit` (a pipe or device reports no length). Too large is an `InvalidData`
/// error saying both sizes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let too_large = |len: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{len} bytes is more than the limit of {limit}"),
        )
    };
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a hidden temporary file beside it and a rename, so a
/// crash or a full disk never leaves half a file at `path`; the temporary file is removed
/// when either step fails. The temporary, `.NAME.<pid>.<n>.tmp`, is unique to this process
/// and call, so two writers of one file never share it (a name that is not UTF-8 keeps its
/// bytes); the file is flushed before the rename and the directory after it.
pub(crate) fn write_via_temp(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(
        path.file_name()
            .unwrap_or_else(|| std::ffi::OsStr::new("out")),
    );
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            std::io::Write::write_all(&mut file, bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}
