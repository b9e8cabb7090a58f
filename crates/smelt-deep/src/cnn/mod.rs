//! Convolutional networks for images: `CNNClassifier` (architecture `cnn`: conv → BN → ReLU →
//! max-pool stages, then a dense layer; or `resnet`: a small ResNet of basic blocks with
//! global average pooling).
//!
//! Images are table rows — one column per pixel, channel-major (`pixel{c·h·w + y·w + x}`), as
//! the digits and MNIST tables are and as `smelt-data` reads a folder of PNG/JPEG files — so
//! the network trains, cross-validates, saves and serves like any model. The image shape is
//! inferred from the number of pixel columns (a square of grey pixels or three colour planes)
//! or given (`image_shape`); other tables are read as one row of pixels (a 1-D signal, where
//! 3×3 kernels see neighbouring columns). Pixels are standardised with the training mean and deviation;
//! training batches are augmented on the loader thread (random shifts, small rotations,
//! optional flips).

pub mod image;
pub mod layers;

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, classification_target};
use smelt_core::rng::Rng;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, Output,
    ParamError, Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use crate::error::DeepError;
use crate::init::linear;
use crate::kernels;
use crate::mlp::net::dropout;
use crate::recipe::Recipe;
use crate::train::{self, Batch, BatchSource, History, Loss, Network};
use image::{Augment, infer_shape};
use layers::{BatchNorm2d, Conv2d, ResidualBlock};

const NAME: &str = "CNNClassifier";

/// The network's shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Stages of conv3×3 → batch norm → ReLU → 2×2 max-pool, then a dense layer.
    #[default]
    Cnn,
    /// A small ResNet: a conv stem, one basic residual block per stage (stride 2 after the
    /// first), global average pooling.
    Resnet,
}

crate::deep_params! {
    /// Parameters of [`Cnn`], an image classifier.
    /// Defaults: 30 epochs of one-cycle Adam peaking at 3e-3, no early stopping (a one-cycle
    /// schedule is planned for its whole length): 98.9 % on the digits' held-out rows.
    CNNClassifierParams, "CNNClassifier", epochs: 30, batch_size: 64, lr: 3e-3,
    schedule: OneCycle, early_stopping: false,
    {
        /// `cnn` (conv/pool stages and a dense layer) or `resnet`; default `cnn`.
        architecture: Architecture = Architecture::Cnn;
        /// Channels of each stage; default `[32, 64]`.
        channels: Vec<usize> = vec![32, 64],
            range: check_debug("one or more widths of at least 1", |v: &Vec<usize>| !v.is_empty() && v.iter().all(|&c| c >= 1));
        /// Units of the dense layer before the output (`cnn`), `>= 1`; default 128.
        dense_units: usize = 128, range: at_least_int(1);
        /// Dropout before the output layer, `[0, 1)`; default 0.25.
        dropout: f64 = 0.25, range: within(0.0, 0.99);
        /// `[channels, height, width]` of the images; default: inferred from the number of
        /// pixel columns (a square of grey pixels or three square colour planes, else one row).
        image_shape: Option<Vec<usize>> = None,
            range: check_debug("three sizes of at least 1, [channels, height, width]", |v: &Option<Vec<usize>>| v.as_ref().is_none_or(|s| s.len() == 3 && s.iter().all(|&d| d >= 1))),
            setter: some(Vec<usize>);
        /// Augment training images (random shifts, rotations, flips as set below); default `true`.
        augment: bool = true;
        /// Largest random shift, as a fraction of the image's side, `[0, 0.5]`; default 0.1.
        shift_fraction: f64 = 0.1, range: within(0.0, 0.5);
        /// Largest random rotation in degrees, `[0, 180]`; default 10.
        max_rotation: f64 = 10.0, range: within(0.0, 180.0);
        /// Mirror images left–right at random (not for digits or text); default `false`.
        flip: bool = false;
    }
}

/// The layout parameters (the training ones are a [`Recipe`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Layout {
    architecture: Architecture,
    channels: Vec<usize>,
    dense_units: usize,
    dropout: f64,
    image_shape: Option<Vec<usize>>,
    augment: bool,
    shift_fraction: f64,
    max_rotation: f64,
    flip: bool,
}

/// The network built from a layout for images of `shape` and `classes` outputs.
#[derive(Debug)]
struct Net {
    arch: Architecture,
    /// `cnn`: one (conv, bn) per stage; `resnet`: the stem.
    convs: Vec<(Conv2d, BatchNorm2d)>,
    /// `resnet`: one block per stage.
    blocks: Vec<ResidualBlock>,
    /// Dense layers `[in, out]` + bias: `cnn` hidden + output, `resnet` output only.
    dense: Vec<(Var, Var)>,
    dropout: f64,
}

impl Net {
    fn new(
        layout: &Layout,
        shape: [usize; 3],
        classes: usize,
        seed: u64,
        dev: &Device,
    ) -> candle_core::Result<Net> {
        let mut rng = Rng::new(seed);
        let [c, h, w] = shape;
        let mut convs = Vec::new();
        let mut blocks = Vec::new();
        let mut dense = Vec::new();
        match layout.architecture {
            Architecture::Cnn => {
                let (mut cin, mut h, mut w) = (c, h, w);
                for &cout in &layout.channels {
                    convs.push((
                        Conv2d::new(cin, cout, 3, 1, 1, &mut rng, dev)?,
                        BatchNorm2d::new(cout, dev)?,
                    ));
                    cin = cout;
                    if h >= 2 && w >= 2 {
                        h /= 2;
                        w /= 2;
                    }
                }
                dense.push(linear(cin * h * w, layout.dense_units, &mut rng, dev)?);
                dense.push(linear(layout.dense_units, classes, &mut rng, dev)?);
            }
            Architecture::Resnet => {
                let first = layout.channels[0];
                convs.push((
                    Conv2d::new(c, first, 3, 1, 1, &mut rng, dev)?,
                    BatchNorm2d::new(first, dev)?,
                ));
                let (mut cin, mut side) = (first, h.min(w));
                for (i, &cout) in layout.channels.iter().enumerate() {
                    let stride = if i > 0 && side >= 2 { 2 } else { 1 };
                    side = side.div_ceil(stride);
                    blocks.push(ResidualBlock::new(cin, cout, stride, &mut rng, dev)?);
                    cin = cout;
                }
                dense.push(linear(cin, classes, &mut rng, dev)?);
            }
        }
        Ok(Net {
            arch: layout.architecture,
            convs,
            blocks,
            dense,
            dropout: layout.dropout,
        })
    }
}

/// Activation values per image kept for the backward pass, and trained values, of the
/// network `layout` builds (the memory check's estimate: each conv stage keeps its output,
/// the batch-norm intermediates, the activation and the pooled map).
fn footprint(layout: &Layout, shape: [usize; 3], classes: usize) -> (u64, u64) {
    let [c, h, w] = shape;
    let (mut acts, mut weights) = ((c * h * w) as u64, 0u64);
    let (mut cin, mut area) = (c, h * w);
    match layout.architecture {
        Architecture::Cnn => {
            for &cout in &layout.channels {
                acts += 8 * (cout * area) as u64;
                weights += (9 * cin * cout + 3 * cout) as u64;
                cin = cout;
                area = (area / 4).max(1);
            }
            acts += 3 * layout.dense_units as u64;
            weights +=
                ((cin * area + 1) * layout.dense_units + (layout.dense_units + 1) * classes) as u64;
        }
        Architecture::Resnet => {
            for (i, &cout) in layout.channels.iter().enumerate() {
                if i > 0 {
                    area = (area / 4).max(1);
                }
                acts += 16 * (cout * area) as u64;
                weights += (18 * cin * cout + 9 * cout * cout) as u64;
                cin = cout;
            }
            weights += ((cin + 1) * classes) as u64;
        }
    }
    (acts, weights)
}

fn bn_vars(bn: &BatchNorm2d) -> [Var; 2] {
    [bn.gamma.clone(), bn.beta.clone()]
}

impl Network for Net {
    fn with_dtype(&self, dtype: DType) -> candle_core::Result<Option<Box<dyn Network>>> {
        let conv = |v: &Var| train::precision::converted(v, dtype);
        Ok(Some(Box::new(Net {
            arch: self.arch,
            convs: self
                .convs
                .iter()
                .map(|(c, b)| Ok((c.to_dtype(dtype)?, b.to_dtype(dtype)?)))
                .collect::<candle_core::Result<_>>()?,
            blocks: self
                .blocks
                .iter()
                .map(|b| b.to_dtype(dtype))
                .collect::<candle_core::Result<_>>()?,
            dense: self
                .dense
                .iter()
                .map(|(w, b)| Ok((conv(w)?, conv(b)?)))
                .collect::<candle_core::Result<_>>()?,
            dropout: self.dropout,
        })))
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for (conv, bn) in &self.convs {
            v.extend([conv.weight.clone(), conv.bias.clone()]);
            v.extend(bn_vars(bn));
        }
        for b in &self.blocks {
            v.extend([b.conv1.weight.clone(), b.conv1.bias.clone()]);
            v.extend(bn_vars(&b.bn1));
            v.extend([b.conv2.weight.clone(), b.conv2.bias.clone()]);
            v.extend(bn_vars(&b.bn2));
            if let Some((conv, bn)) = &b.shortcut {
                v.extend([conv.weight.clone(), conv.bias.clone()]);
                v.extend(bn_vars(bn));
            }
        }
        for (w, b) in &self.dense {
            v.extend([w.clone(), b.clone()]);
        }
        v
    }

    fn buffers(&self) -> Vec<Var> {
        let mut bns: Vec<&BatchNorm2d> = self.convs.iter().map(|(_, bn)| bn).collect();
        for b in &self.blocks {
            bns.extend([&b.bn1, &b.bn2]);
            if let Some((_, bn)) = &b.shortcut {
                bns.push(bn);
            }
        }
        bns.iter()
            .flat_map(|bn| [bn.running_mean.clone(), bn.running_var.clone()])
            .collect()
    }

    fn forward(
        &self,
        inputs: &[Tensor],
        train: bool,
        rng: &mut Rng,
    ) -> candle_core::Result<Tensor> {
        let mut x = inputs[0].clone();
        match self.arch {
            Architecture::Cnn => {
                for (conv, bn) in &self.convs {
                    let (h, w) = conv.output_size(&x)?;
                    x = if h >= 2 && w >= 2 {
                        bn.forward_conv_act_pool(conv, &x, train, true, 2)?
                    } else {
                        bn.forward_act(&conv.forward(&x)?, train, true)?
                    };
                }
                x = x.flatten_from(1)?;
                let (w1, b1) = &self.dense[0];
                x = kernels::linear(&x, w1.as_tensor(), b1.as_tensor(), kernels::Act::Relu)?;
                if train {
                    x = dropout(&x, self.dropout, rng)?;
                }
                let (w2, b2) = &self.dense[1];
                kernels::linear(&x, w2.as_tensor(), b2.as_tensor(), kernels::Act::Identity)
            }
            Architecture::Resnet => {
                let (conv, bn) = &self.convs[0];
                x = bn.forward_act(&conv.forward(&x)?, train, true)?;
                for b in &self.blocks {
                    x = b.forward(&x, train)?;
                }
                x = x.mean(3)?.mean(2)?;
                if train {
                    x = dropout(&x, self.dropout, rng)?;
                }
                let (w, b) = &self.dense[0];
                kernels::linear(&x, w.as_tensor(), b.as_tensor(), kernels::Act::Identity)
            }
        }
    }
}

/// A fitted image classifier.
#[derive(Debug)]
pub struct Cnn {
    params: serde_json::Value,
    layout: Layout,
    input: Vec<Feature>,
    shape: [usize; 3],
    /// Training pixel mean and standard deviation.
    scale: (f64, f64),
    classes: Vec<String>,
    net: Net,
    history: History,
}

/// Standardised images, row-major (`rows × c·h·w`).
struct Images<'a> {
    pixels: &'a [f32],
    shape: [usize; 3],
    rows: Vec<usize>,
    labels: &'a [u32],
    augment: Option<Augment>,
    device: &'a Device,
}

impl BatchSource for Images<'_> {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }

    fn batch(&self, rows: &[usize], augment: Option<u64>) -> crate::Result<Batch> {
        let [c, h, w] = self.shape;
        let size = c * h * w;
        let mut x = vec![0f32; rows.len() * size];
        let mut rng = augment.map(Rng::new);
        for (k, &r) in rows.iter().enumerate() {
            let i = self.rows[r];
            let img = &self.pixels[i * size..(i + 1) * size];
            let out = &mut x[k * size..(k + 1) * size];
            match (&self.augment, rng.as_mut()) {
                (Some(a), Some(rng)) => a.apply(img, self.shape, rng, 0.0, out),
                _ => out.copy_from_slice(img),
            }
        }
        let n = rows.len();
        let make = || -> candle_core::Result<Batch> {
            let inputs = vec![Tensor::from_vec(x, (n, c, h, w), self.device)?];
            let target = if self.labels.is_empty() {
                Tensor::zeros(0, DType::U32, self.device)?
            } else {
                let t: Vec<u32> = rows.iter().map(|&r| self.labels[self.rows[r]]).collect();
                Tensor::from_vec(t, n, self.device)?
            };
            Ok(Batch {
                inputs,
                target,
                rows: n,
            })
        };
        make().map_err(DeepError::candle("building an image batch"))
    }
}

/// The images of `data` (conformed), row-major, standardised with `scale`; every pixel column
/// must be numeric and finite.
fn pixels(data: &Dataset<f64>, shape: [usize; 3], scale: (f64, f64)) -> Result<Vec<f32>> {
    let size = shape.iter().product::<usize>();
    let n = data.n_rows();
    if data.n_features() != size {
        return Err(CoreError::Numerical {
            estimator: NAME,
            message: format!(
                "images of shape {shape:?} need {size} pixel columns, the table has {}",
                data.n_features()
            ),
        });
    }
    let mut out = vec![0f32; n * size];
    for (j, f) in data.features().iter().enumerate() {
        if matches!(f.kind, FeatureKind::Categorical { .. }) {
            return Err(CoreError::NotNumeric {
                estimator: NAME,
                feature: f.name.clone(),
            });
        }
        for (i, &v) in data.column(j).iter().enumerate() {
            if !v.is_finite() {
                return Err(CoreError::NonFinite {
                    estimator: NAME,
                    feature: f.name.clone(),
                    row: i,
                    value: v,
                });
            }
            out[i * size + j] = ((v - scale.0) / scale.1) as f32;
        }
    }
    Ok(out)
}

impl Fit for CNNClassifierParams {
    type Model = Cnn;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Cnn> {
        self.validate()?;
        let recipe = Recipe::of(self)?;
        let layout: Layout = serde_json::to_value(self)
            .and_then(serde_json::from_value)
            .map_err(|e| CoreError::Engine {
                engine: "smelt-deep",
                message: format!("reading the CNN's parameters: {e}"),
            })?;
        check_sample_weight(NAME, data.n_rows(), w)?;
        if w.is_some() {
            return Err(CoreError::SampleWeight {
                estimator: NAME,
                reason: "the CNN does not take sample weights; resample the rows instead".into(),
            });
        }
        let (codes, classes) = classification_target(NAME, data)?;
        let p = data.n_features();
        let shape = match &layout.image_shape {
            Some(s) => [s[0], s[1], s[2]],
            // Not a square image: the features as one row of pixels (a 1-D signal).
            None => infer_shape(p).unwrap_or([1, 1, p]),
        };
        // The pixel mean and deviation over every training pixel.
        let (mut sum, mut sq, mut count) = (0.0, 0.0, 0usize);
        for j in 0..p {
            for &v in data.column(j).iter().filter(|v| v.is_finite()) {
                sum += v;
                sq += v * v;
                count += 1;
            }
        }
        let mean = sum / count.max(1) as f64;
        let std = (sq / count.max(1) as f64 - mean * mean).max(0.0).sqrt();
        let scale = (mean, if std > 1e-12 { std } else { 1.0 });
        let px = pixels(data, shape, scale)?;
        let device = train::device(&recipe.device)?;
        let (acts, weights) = footprint(&layout, shape, classes.len());
        crate::memory::check(
            NAME,
            acts,
            recipe.batch_size.min(data.n_rows()),
            weights,
            crate::memory::available(),
            "use fewer channels or smaller images",
        )?;
        let net = Net::new(&layout, shape, classes.len(), recipe.random_state, &device)
            .map_err(DeepError::candle("initialising the network"))?;
        let n = data.n_rows();
        let (train_rows, valid_rows) = if recipe.early_stopping && n >= 2 {
            train::holdout(
                n,
                recipe.validation_fraction,
                Some(codes),
                recipe.random_state,
            )
        } else {
            ((0..n).collect(), Vec::new())
        };
        let side = shape[1].min(shape[2]) as f64;
        let augment = Augment {
            max_shift: (layout.shift_fraction * side).round(),
            max_rotation: layout.max_rotation,
            flip: layout.flip,
        };
        let train_src = Images {
            pixels: &px,
            shape,
            rows: train_rows,
            labels: codes,
            augment: (layout.augment && !augment.is_identity()).then_some(augment),
            device: &device,
        };
        let valid_src = Images {
            pixels: &px,
            shape,
            rows: valid_rows,
            labels: codes,
            augment: None,
            device: &device,
        };
        let valid = (valid_src.n_rows() > 0).then_some(&valid_src as &dyn BatchSource);
        let history = train::fit(
            &net,
            Loss::CrossEntropy,
            &train_src,
            valid,
            &recipe.fit_config(NAME),
        )?;
        Ok(Cnn {
            params: serde_json::to_value(self).unwrap_or_default(),
            layout,
            input: data.features().to_vec(),
            shape,
            scale,
            classes: classes.to_vec(),
            net,
            history,
        })
    }
}

/// Images scored per forward pass.
const PREDICT_CHUNK: usize = 512;

impl Cnn {
    /// The model kind in model files.
    pub const KIND: &'static str = "cnn_classifier";

    /// What the fit recorded per epoch.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// `[channels, height, width]` of the images it reads.
    pub fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, serde_json::Value) = load_common(r)?;
        let layout: Layout = r.get("layout")?;
        let shape: [usize; 3] = r.get("shape")?;
        let scale: (f64, f64) = r.get("scale")?;
        let classes: Vec<String> = r.get("classes")?;
        let history: History = r.get("history")?;
        let device = Device::Cpu;
        let net = Net::new(&layout, shape, classes.len(), 0, &device)
            .map_err(|e| r.invalid(format!("building the network: {e}")))?;
        let vars: Vec<Var> = net.vars().into_iter().chain(net.buffers()).collect();
        let n: usize = r.get("n_tensors")?;
        if n != vars.len() {
            return Err(r.invalid(format!(
                "{n} tensors for a network of {} (layout and weights disagree)",
                vars.len()
            )));
        }
        for (i, v) in vars.iter().enumerate() {
            let name = format!("tensor.{i}");
            let t = crate::weights::get(r, &name, v.dims().len(), &device)?;
            if t.dims() != v.dims() {
                return Err(r.invalid(format!(
                    "`{name}` has shape {:?}, the network wants {:?}",
                    t.dims(),
                    v.dims()
                )));
            }
            v.set(&t).map_err(|e| r.invalid(format!("`{name}`: {e}")))?;
        }
        Ok(Box::new(Cnn {
            params,
            layout,
            input,
            shape,
            scale,
            classes,
            net,
            history,
        }))
    }
}

impl Predictor for Cnn {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        let px = pixels(&d, self.shape, self.scale)?;
        let device = self
            .net
            .dense
            .first()
            .map(|l| l.0.device().clone())
            .unwrap_or(Device::Cpu);
        let src = Images {
            pixels: &px,
            shape: self.shape,
            rows: (0..d.n_rows()).collect(),
            labels: &[],
            augment: None,
            device: &device,
        };
        let k = self.classes.len();
        let mut values = Vec::with_capacity(d.n_rows() * k);
        let mut rng = Rng::new(0);
        let rows: Vec<usize> = (0..d.n_rows()).collect();
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let b = src.batch(chunk, None)?;
            let p = self
                .net
                .forward(&b.inputs, false, &mut rng)
                .and_then(|t| candle_nn::ops::softmax_last_dim(&t))
                .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
                .map_err(DeepError::candle("forward pass"))?;
            values.extend(p.iter().map(|&v| f64::from(v)));
        }
        // Renormalise in f64 so each row sums to 1 to the last bit a consumer checks.
        for row in values.chunks_mut(k.max(1)) {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|v| *v /= s);
            }
        }
        Ok(Prediction::from_proba(
            Proba {
                n_classes: k,
                values,
            },
            self.classes.clone(),
        ))
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        Some(self.history.series())
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("layout", &self.layout)?;
        w.put("shape", &self.shape)?;
        w.put("scale", &self.scale)?;
        w.put("classes", &self.classes)?;
        w.put("history", &self.history)?;
        let vars: Vec<Var> = self
            .net
            .vars()
            .into_iter()
            .chain(self.net.buffers())
            .collect();
        w.put("n_tensors", &vars.len())?;
        for (i, v) in vars.iter().enumerate() {
            crate::weights::put(w, &format!("tensor.{i}"), v.as_tensor())?;
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
