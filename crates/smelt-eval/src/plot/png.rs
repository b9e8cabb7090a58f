//! A minimal PNG encoder for 8-bit RGB images: per-row adaptive filtering (as libpng chooses:
//! the filter with the smallest sum of absolute values) and fdeflate's zlib stream, which is
//! made for filtered image data. A few dozen lines instead of the `png` crate and its three
//! deflate implementations.

use std::sync::OnceLock;

/// The PNG file of an RGB image (`pixels` holds `width × height × 3` bytes, row by row), with
/// its physical resolution in pixels per metre.
pub(crate) fn encode_rgb(pixels: &[u8], width: u32, height: u32, per_metre: u32) -> Vec<u8> {
    let stride = width as usize * 3;
    let mut filtered = Vec::with_capacity((stride + 1) * height as usize);
    let mut candidate = vec![0u8; stride];
    let mut best = vec![0u8; stride];
    let zero = vec![0u8; stride];
    for (y, row) in pixels.chunks_exact(stride).enumerate() {
        let above = if y == 0 {
            &zero[..]
        } else {
            &pixels[(y - 1) * stride..y * stride]
        };
        let mut best_kind = 0u8;
        let mut best_cost = u64::MAX;
        for kind in 0..5u8 {
            filter(kind, row, above, &mut candidate);
            // Bytes read as signed: small residuals both ways cost little.
            let cost: u64 = candidate
                .iter()
                .map(|&b| u64::from((b as i8).unsigned_abs()))
                .sum();
            if cost < best_cost {
                best_cost = cost;
                best_kind = kind;
                best.copy_from_slice(&candidate);
            }
        }
        filtered.push(best_kind);
        filtered.extend_from_slice(&best);
    }
    let mut out = Vec::with_capacity(filtered.len() / 8 + 128);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // 8 bits per sample, RGB, deflate, adaptive filtering, not interlaced.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut physical = Vec::with_capacity(9);
    physical.extend_from_slice(&per_metre.to_be_bytes());
    physical.extend_from_slice(&per_metre.to_be_bytes());
    physical.push(1);
    chunk(&mut out, b"pHYs", &physical);
    chunk(&mut out, b"IDAT", &fdeflate::compress_to_vec(&filtered));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Applies PNG filter `kind` (0 none, 1 sub, 2 up, 3 average, 4 Paeth) to `row`.
fn filter(kind: u8, row: &[u8], above: &[u8], out: &mut [u8]) {
    for i in 0..row.len() {
        let a = if i >= 3 { row[i - 3] } else { 0 };
        let b = above[i];
        let c = if i >= 3 { above[i - 3] } else { 0 };
        let predicted = match kind {
            0 => 0,
            1 => a,
            2 => b,
            3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
            _ => paeth(a, b, c),
        };
        out[i] = row[i].wrapping_sub(predicted);
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses).
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        table
    });
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes what [`encode_rgb`] writes, checking every CRC.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let (mut width, mut height, mut data) = (0, 0, vec![]);
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let body = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]));
            match kind {
                b"IHDR" => {
                    width = u32::from_be_bytes(body[..4].try_into().unwrap());
                    height = u32::from_be_bytes(body[4..8].try_into().unwrap());
                }
                b"IDAT" => data.extend_from_slice(body),
                _ => {}
            }
            at += 12 + len;
        }
        let raw = fdeflate::decompress_to_vec(&data).unwrap();
        let stride = width as usize * 3;
        let mut pixels = vec![0u8; stride * height as usize];
        for y in 0..height as usize {
            let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
            for i in 0..stride {
                let a = if i >= 3 {
                    pixels[y * stride + i - 3]
                } else {
                    0
                };
                let b = if y > 0 {
                    pixels[(y - 1) * stride + i]
                } else {
                    0
                };
                let c = if i >= 3 && y > 0 {
                    pixels[(y - 1) * stride + i - 3]
                } else {
                    0
                };
                let predicted = match line[0] {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => paeth(a, b, c),
                    k => panic!("filter {k}"),
                };
                pixels[y * stride + i] = line[1 + i].wrapping_add(predicted);
            }
        }
        (width, height, pixels)
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn images_round_trip() {
        let (w, h) = (37u32, 23u32);
        let pixels: Vec<u8> = (0..w * h * 3)
            .map(|i| ((i * 7919) % 251) as u8 ^ if i % 5 == 0 { 255 } else { 0 })
            .collect();
        let png = encode_rgb(&pixels, w, h, 7559);
        assert_eq!(decode(&png), (w, h, pixels));
        let white = vec![255u8; 200 * 100 * 3];
        let png = encode_rgb(&white, 200, 100, 7559);
        assert!(png.len() < 2_000, "{}", png.len());
        assert_eq!(decode(&png).2, white);
    }
}
