//! `index.bin`, written and read (the layout is in the module doc of `cache`). Reading treats
//! the bytes as hostile: each length is checked against the bytes left before it is used, the
//! entry count against the smallest entry before anything is reserved, and every image's
//! place and sides against the data file and the image bounds, in checked arithmetic.

use super::{
    CACHE_FORMAT_VERSION, FLAG_BAD, FLAG_TEST, Index, MAGIC, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE,
    MIN_ENTRY_BYTES, Record, Rule, Slot,
};

/// `index` as the bytes of `index.bin`.
pub(super) fn encode(index: &Index) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + index.records.len() * (MIN_ENTRY_BYTES + 48));
    let bytes = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    };
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    bytes(&mut out, &index.rule.source);
    bytes(&mut out, &index.rule.filter);
    out.extend_from_slice(&index.rule.short_side.to_le_bytes());
    out.extend_from_slice(&[index.rule.channels_asked, index.channels]);
    out.extend_from_slice(&index.first[0].to_le_bytes());
    out.extend_from_slice(&index.first[1].to_le_bytes());
    out.extend_from_slice(&index.data_len.to_le_bytes());
    out.extend_from_slice(&(index.records.len() as u64).to_le_bytes());
    let mut bad = index.bad.iter().peekable();
    for (i, (record, slot)) in index.records.iter().zip(&index.slots).enumerate() {
        bytes(&mut out, &record.rel);
        out.extend_from_slice(&record.size.to_le_bytes());
        out.extend_from_slice(&record.mtime_ns.to_le_bytes());
        let failed = bad.next_if(|(at, _)| *at == i);
        let flags = if record.test { FLAG_TEST } else { 0 } | failed.map_or(0, |_| FLAG_BAD);
        out.extend_from_slice(&[record.label, flags]);
        match failed {
            Some((_, message)) => bytes(&mut out, message.as_bytes()),
            None => {
                out.extend_from_slice(&slot.offset.to_le_bytes());
                out.extend_from_slice(&slot.height.to_le_bytes());
                out.extend_from_slice(&slot.width.to_le_bytes());
            }
        }
    }
    out
}

/// A cursor over hostile bytes; every read fails with a reason instead of going past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(format!("ends {} bytes early", n - self.bytes.len()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Result<i64, String> {
        self.array().map(i64::from_le_bytes)
    }

    /// A `u32` length, then that many bytes.
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// `[height, width]` of a stored image, each side in `1..=MAX_IMAGE_SIDE` and the area
    /// within `MAX_IMAGE_PIXELS`.
    fn sides(&mut self) -> Result<[u32; 2], String> {
        let [h, w] = [self.u32()?, self.u32()?];
        let side_ok = |s: u32| (1..=MAX_IMAGE_SIDE as u32).contains(&s);
        if !side_ok(h) || !side_ok(w) || h as u64 * w as u64 > MAX_IMAGE_PIXELS {
            return Err(format!(
                "an image of {h}x{w} pixels is outside the image bounds"
            ));
        }
        Ok([h, w])
    }
}

/// Parses `index.bin`; the reason it cannot be used otherwise.
pub(super) fn parse(bytes: &[u8]) -> Result<Index, String> {
    let mut r = Reader { bytes };
    if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
        return Err("not a cache index (wrong magic)".into());
    }
    let version = r.u32()?;
    if version != CACHE_FORMAT_VERSION {
        return Err(format!(
            "version {version}, this temper writes {CACHE_FORMAT_VERSION}"
        ));
    }
    let rule = Rule {
        source: r.bytes()?.to_vec(),
        filter: r.bytes()?.to_vec(),
        short_side: r.u32()?,
        channels_asked: r.u8()?,
    };
    let channels = r.u8()?;
    if !matches!(channels, 1 | 3) || !matches!(rule.channels_asked, 0 | 1 | 3) {
        return Err(format!("{channels} channels"));
    }
    let first = r.sides()?;
    let data_len = r.u64()?;
    let count = r.u64()?;
    if count > (r.bytes.len() / MIN_ENTRY_BYTES) as u64 {
        return Err(format!(
            "{count} entries cannot fit in {} bytes",
            r.bytes.len()
        ));
    }
    let count = count as usize;
    let (mut records, mut slots, mut bad) = (
        Vec::with_capacity(count),
        Vec::with_capacity(count),
        Vec::new(),
    );
    let mut end = 0u64;
    for i in 0..count {
        let rel = r.bytes()?.to_vec();
        let (size, mtime_ns) = (r.u64()?, r.i64()?);
        let (label, flags) = (r.u8()?, r.u8()?);
        if flags & !(FLAG_TEST | FLAG_BAD) != 0 {
            return Err(format!("entry {i} has unknown flags {flags:#x}"));
        }
        let test = flags & FLAG_TEST != 0;
        records.push(Record {
            rel,
            size,
            mtime_ns,
            label,
            test,
        });
        if flags & FLAG_BAD != 0 {
            let message = String::from_utf8_lossy(r.bytes()?).into_owned();
            bad.push((i, message));
            slots.push(Slot {
                offset: end,
                height: 0,
                width: 0,
            });
            continue;
        }
        let offset = r.u64()?;
        let [height, width] = r.sides()?;
        // Images follow each other: the offset is where the previous one ended.
        if offset != end {
            return Err(format!("entry {i} starts at byte {offset}, expected {end}"));
        }
        let len = channels as u64 * height as u64 * width as u64;
        end = match offset.checked_add(len) {
            Some(e) if e <= data_len => e,
            _ => return Err(format!("entry {i} ends past the data's {data_len} bytes")),
        };
        slots.push(Slot {
            offset,
            height,
            width,
        });
    }
    if !r.bytes.is_empty() {
        return Err(format!(
            "{} unexpected bytes after the entries",
            r.bytes.len()
        ));
    }
    if end != data_len {
        return Err(format!(
            "the images take {end} bytes, the header says {data_len}"
        ));
    }
    Ok(Index {
        rule,
        channels,
        first,
        data_len,
        records,
        slots,
        bad,
    })
}
