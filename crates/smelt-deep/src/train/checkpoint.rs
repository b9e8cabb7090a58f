//! Checkpoints: everything a fit needs to continue exactly where it stopped.
//!
//! A checkpoint directory holds `checkpoint.safetensors` (the weights `w.{i}`, the optimizer's
//! buffers `opt.first.{i}` / `opt.second.{i}`, the best epoch's weights `best.{i}`) and
//! `checkpoint.json` (epochs done, optimizer steps, schedule, early-stopping state, history).
//! Both are written to temporary files and renamed into place, the JSON last, so a crash
//! mid-write leaves the previous checkpoint readable. Data only: no code, no pickle.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var};

use super::LoopState;
use super::optim::Optimizer;
use crate::error::{DeepError, Result};

const WEIGHTS: &str = "checkpoint.safetensors";
const STATE: &str = "checkpoint.json";

/// A checkpoint read back.
pub(crate) struct Resumed {
    pub state: LoopState,
    pub optimizer: Vec<(String, Tensor)>,
    pub best: Option<Vec<Tensor>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeepError + '_ {
    move |source| DeepError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the checkpoint of the epoch just finished into `dir`.
pub(crate) fn save(
    dir: &Path,
    vars: &[Var],
    opt: &Optimizer,
    best: Option<&[Tensor]>,
    state: &LoopState,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (i, v) in vars.iter().enumerate() {
        tensors.insert(format!("w.{i}"), v.as_tensor().clone());
    }
    for (name, t) in opt.state().1 {
        tensors.insert(format!("opt.{name}"), t);
    }
    for (i, t) in best.unwrap_or(&[]).iter().enumerate() {
        tensors.insert(format!("best.{i}"), t.clone());
    }
    let weights = dir.join(WEIGHTS);
    let tmp_weights = dir.join(format!(".{WEIGHTS}.tmp"));
    candle_core::safetensors::save(&tensors, &tmp_weights).map_err(DeepError::candle(format!(
        "writing {}",
        tmp_weights.display()
    )))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| DeepError::Invalid {
        path: dir.join(STATE),
        message: e.to_string(),
    })?;
    let state_path = dir.join(STATE);
    let tmp_state = dir.join(format!(".{STATE}.tmp"));
    std::fs::write(&tmp_state, json).map_err(io(&tmp_state))?;
    std::fs::rename(&tmp_weights, &weights).map_err(io(&weights))?;
    std::fs::rename(&tmp_state, &state_path).map_err(io(&state_path))?;
    Ok(())
}

/// Reads the checkpoint in `dir` for a network with `vars` (shapes must match).
pub(crate) fn load(dir: &Path, vars: &[Var]) -> Result<Resumed> {
    let state_path = dir.join(STATE);
    let weights = dir.join(WEIGHTS);
    if !state_path.is_file() {
        return Err(DeepError::Invalid {
            path: dir.to_path_buf(),
            message: format!(
                "not a checkpoint directory (no {STATE}); pass the directory given as \
                 `checkpoint_dir` to the run being resumed"
            ),
        });
    }
    let text = std::fs::read(&state_path).map_err(io(&state_path))?;
    let state: LoopState = serde_json::from_slice(&text).map_err(|e| DeepError::Invalid {
        path: state_path.clone(),
        message: format!("unreadable checkpoint state: {e}"),
    })?;
    let device = vars
        .first()
        .map(|v| v.device().clone())
        .unwrap_or(Device::Cpu);
    let mut tensors = candle_core::safetensors::load(&weights, &device)
        .map_err(DeepError::candle(format!("reading {}", weights.display())))?;
    let mismatch = |message: String| DeepError::Invalid {
        path: weights.clone(),
        message: format!(
            "{message}: the checkpoint was written by a different network (other data columns or layer sizes)"
        ),
    };
    for (i, v) in vars.iter().enumerate() {
        let t = tensors
            .remove(&format!("w.{i}"))
            .ok_or_else(|| mismatch(format!("weight {i} is missing")))?;
        if t.dims() != v.dims() {
            return Err(mismatch(format!(
                "weight {i} has shape {:?}, the network {:?}",
                t.dims(),
                v.dims()
            )));
        }
        v.set(&t)
            .map_err(DeepError::candle("restoring checkpoint weights"))?;
    }
    let mut best = Vec::new();
    for i in 0..vars.len() {
        if let Some(t) = tensors.remove(&format!("best.{i}")) {
            best.push(t);
        }
    }
    let optimizer = tensors
        .into_iter()
        .filter_map(|(k, t)| k.strip_prefix("opt.").map(|k| (k.to_string(), t)))
        .collect();
    Ok(Resumed {
        state,
        optimizer,
        best: (best.len() == vars.len()).then_some(best),
    })
}

/// The checkpoint files of `dir` (for messages).
pub fn files(dir: &Path) -> [PathBuf; 2] {
    [dir.join(WEIGHTS), dir.join(STATE)]
}
