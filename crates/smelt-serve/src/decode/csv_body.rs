//! CSV request bodies (`Content-Type: text/csv`, as `mlflow models serve` takes them): a header
//! row naming the columns, then one line per row; extra columns are ignored.

use super::{BadInput, Codec, Rows};

/// Rows from a CSV body.
pub fn rows(codec: &Codec, body: &[u8]) -> Result<Rows, BadInput> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| BadInput(format!("CSV body: cannot read the header line: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut at = Vec::with_capacity(codec.width());
    for j in 0..codec.width() {
        match header.iter().position(|h| h == &codec.names()[j]) {
            Some(p) => at.push(p),
            None => {
                return Err(codec.missing_feature(
                    j,
                    header.iter().map(String::as_str),
                    "CSV body (header line)",
                ));
            }
        }
    }
    // Row-major while reading (the row count is not known up front), then transposed.
    let mut cells: Vec<f64> = Vec::new();
    let mut texts: Vec<(usize, Vec<Option<String>>)> = (0..codec.width())
        .filter(|&j| codec.is_text(j))
        .map(|j| (j, Vec::new()))
        .collect();
    let mut n = 0;
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            BadInput(format!(
                "CSV body, line {}: {}",
                e.position().map_or(i + 2, |p| p.line() as usize),
                csv_message(&e)
            ))
        })?;
        for (j, t) in texts.iter_mut() {
            let s = rec.get(at[*j]).unwrap_or("");
            t.push((!s.is_empty()).then(|| s.to_string()));
        }
        for (j, &p) in at.iter().enumerate() {
            let s = rec.get(p).unwrap_or("");
            cells.push(
                codec
                    .csv_cell(j, i, s)
                    .map_err(|e| BadInput(format!("CSV body, line {} ({})", i + 2, e.0)))?,
            );
        }
        n += 1;
    }
    let k = codec.width();
    let mut values = vec![0.0; n * k];
    for i in 0..n {
        for j in 0..k {
            values[j * n + i] = cells[i * k + j];
        }
    }
    Ok(Rows { n, values, texts })
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Unseen;
    use smelt_core::{Feature, FeatureKind, LogicalType};

    #[test]
    fn csv_by_header_with_errors_by_line() {
        let f = |name: &str| Feature {
            name: name.into(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        };
        let c = Codec::new(&[f("a"), f("b")], true, Unseen::Error);
        let r = rows(&c, b"id,b,a\n1,2,3\n2,,5\n").unwrap();
        assert_eq!(r.n, 2);
        assert_eq!(r.values[..3], [3.0, 5.0, 2.0]);
        assert!(r.values[3].is_nan());
        let e = rows(&c, b"b,a\n1,2\n3,x\n").unwrap_err().0;
        assert!(e.starts_with("CSV body, line 3"), "{e}");
        assert!(
            e.contains("feature \"a\": expected a number, got \"x\""),
            "{e}"
        );
        let e = rows(&c, b"b,a\n1,2\n3\n").unwrap_err().0;
        assert!(e.contains("line 3: 1 fields, the header has 2"), "{e}");
        let e = rows(&c, b"b,z\n1,2\n").unwrap_err().0;
        assert!(e.contains("missing feature \"a\""), "{e}");
    }
}
