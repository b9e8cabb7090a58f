//! A WordPiece vocabulary learnt from the training texts, for a transformer trained from
//! scratch, run by Hugging Face's `tokenizers` (BERT's normaliser and pre-tokeniser:
//! lower-cased, accents stripped, split on whitespace and punctuation; `[CLS] … [SEP]` around
//! every text).
//!
//! The vocabulary: the special tokens, every character seen (alone and as a `##`
//! continuation, so no text maps to `[UNK]`), then the most frequent words and word endings
//! (`##ing`, `##ed`: the last two and three characters of longer words) up to the size asked
//! for, ties broken alphabetically. Counted here rather than by the `tokenizers` trainer,
//! whose choices among equally frequent merges follow hash-map order and change from run to
//! run: a seeded fit must give the same model twice.

use std::collections::{BTreeSet, HashMap};

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    AddedToken, NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString,
    PreTokenizer, Tokenizer,
};

use crate::error::{DeepError, Result};

/// The special tokens, in id order: padding is id 0.
pub const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

fn fail(what: &str, e: impl std::fmt::Display) -> DeepError {
    DeepError::Input(format!("learning the vocabulary: {what}: {e}"))
}

/// Learns a WordPiece tokenizer of at most `vocab_size` tokens (special tokens and
/// characters included, which may alone exceed it) from `texts`; words and endings seen fewer
/// than `min_frequency` times are left out.
pub fn train_wordpiece(texts: &[&str], vocab_size: usize, min_frequency: u64) -> Result<Tokenizer> {
    let normalizer = BertNormalizer::new(true, true, None, true);
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut chars: BTreeSet<char> = BTreeSet::new();
    for text in texts {
        let mut n = NormalizedString::from(*text);
        normalizer
            .normalize(&mut n)
            .map_err(|e| fail("normalising", e))?;
        let mut p = PreTokenizedString::from(n);
        BertPreTokenizer
            .pre_tokenize(&mut p)
            .map_err(|e| fail("splitting words", e))?;
        for (word, _, _) in p.get_splits(OffsetReferential::Original, OffsetType::Char) {
            chars.extend(word.chars());
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    let mut pieces: HashMap<String, u64> = HashMap::new();
    for (word, &c) in &counts {
        let letters: Vec<char> = word.chars().collect();
        if letters.len() > 1 {
            *pieces.entry(word.clone()).or_default() += c;
        }
        for k in [2, 3] {
            if letters.len() >= k + 2 {
                let end: String = letters[letters.len() - k..].iter().collect();
                *pieces.entry(format!("##{end}")).or_default() += c;
            }
        }
    }
    let mut ranked: Vec<(String, u64)> = pieces
        .into_iter()
        .filter(|(_, c)| *c >= min_frequency)
        .collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut tokens: Vec<String> = SPECIAL.iter().map(|s| s.to_string()).collect();
    for c in &chars {
        tokens.push(c.to_string());
        tokens.push(format!("##{c}"));
    }
    let room = vocab_size.saturating_sub(tokens.len());
    tokens.extend(ranked.into_iter().take(room).map(|(t, _)| t));
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, serde_json::Value::from(i as u32)))
        .collect();
    let json = serde_json::json!({
        "type": "WordPiece",
        "unk_token": "[UNK]",
        "continuing_subword_prefix": "##",
        "max_input_chars_per_word": 100,
        "vocab": vocab,
    })
    .to_string();
    let model: WordPiece = serde_json::from_str(&json).map_err(|e| fail("building it", e))?;
    let mut tok = Tokenizer::new(model);
    tok.with_normalizer(Some(normalizer))
        .map_err(|e| fail("setting the normaliser", e))?;
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.add_special_tokens(
        SPECIAL
            .iter()
            .map(|s| AddedToken::from(s.to_string(), true))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| fail("adding the special tokens", e))?;
    // [PAD] = 0, [UNK] = 1, [CLS] = 2, [SEP] = 3 by construction.
    tok.with_post_processor(Some(BertProcessing::new(
        ("[SEP]".into(), 3),
        ("[CLS]".into(), 2),
    )));
    Ok(tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_pieces_and_wraps_texts() {
        let texts = [
            "the dress fits perfectly",
            "the dress is lovely",
            "lovely fabric, perfect fit",
            "The fabric is thin",
        ];
        let tok = train_wordpiece(&texts, 200, 1).unwrap();
        let enc = tok.encode("THE dress", true).unwrap();
        let tokens = enc.get_tokens();
        assert_eq!(tokens.first().map(String::as_str), Some("[CLS]"));
        assert_eq!(tokens.last().map(String::as_str), Some("[SEP]"));
        assert!(tokens.contains(&"the".to_string()), "{tokens:?}");
        // An unseen word is spelt with pieces, never [UNK].
        let enc = tok.encode("fabrics", true).unwrap();
        assert!(
            !enc.get_tokens().contains(&"[UNK]".to_string()),
            "{:?}",
            enc.get_tokens()
        );
        assert_eq!(tok.token_to_id("[PAD]"), Some(0));
        assert!(tok.get_vocab_size(true) <= 200);
    }

    #[test]
    fn the_same_texts_give_the_same_vocabulary() {
        let texts: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "word{} and fabric{} with the dress{} fits",
                    i % 17,
                    i % 13,
                    i % 7
                )
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let a = train_wordpiece(&refs, 120, 1).unwrap();
        for _ in 0..5 {
            let b = train_wordpiece(&refs, 120, 1).unwrap();
            let sorted = |t: &Tokenizer| {
                t.get_vocab(true)
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
            };
            assert_eq!(sorted(&a), sorted(&b));
        }
    }
}
