//! Run tags as both run creation and logging write them: one value per key, upserted.

use std::collections::HashMap;

use super::sql::tuples;
use crate::entities::KeyValue;
use crate::error::Result;

/// Keeps the last value of each key, in first-seen order.
pub(super) fn dedupe_last(tags: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, String> = HashMap::new();
    for t in tags {
        if !last.contains_key(&t.key) {
            order.push(t.key.clone());
        }
        last.insert(t.key, t.value);
    }
    order
        .into_iter()
        .filter_map(|k| last.remove(&k).map(|v| KeyValue { key: k, value: v }))
        .collect()
}

/// Upserts a run's tags (last write wins) in one multi-row statement; nothing when empty.
pub(super) async fn insert_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    tags: &[KeyValue],
) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO tags (run_uuid, key, value) VALUES {} ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        tuples(tags.len(), 3)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in tags {
        q = q.bind(run_id).bind(&t.key).bind(&t.value);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_keeps_last_value() {
        let d = dedupe_last(vec![
            KeyValue::new("a", "1"),
            KeyValue::new("b", "2"),
            KeyValue::new("a", "3"),
        ]);
        assert_eq!(d, vec![KeyValue::new("a", "3"), KeyValue::new("b", "2")]);
    }
}
