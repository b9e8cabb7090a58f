//! Gradient checks: candle's autograd through every layer type the networks use, against
//! central finite differences in f64.

use candle_core::{DType, Device, Tensor, Var};
use smelt_core::rng::Rng;
use smelt_deep::mlp::net::{Activation, Net, NetSpec};
use smelt_deep::rnn::RnnNet;
use smelt_deep::rnn::cell::{CellKind, RecurrentSpec};
use smelt_deep::train::{Loss, Network};

/// Compares d loss / d var from autograd with central differences for a few entries of every
/// variable.
fn check<N: Network>(net: &N, inputs: &[Tensor], target: &Tensor, loss: Loss) {
    let mut rng = Rng::new(0);
    let f = |net: &N| -> f64 {
        let out = net
            .forward(inputs, false, &mut Rng::new(0))
            .expect("forward");
        loss.compute(&out, target)
            .and_then(|l| l.to_scalar::<f64>())
            .expect("loss")
    };
    let out = net.forward(inputs, false, &mut rng).expect("forward");
    let l = loss.compute(&out, target).expect("loss");
    let grads = l.backward().expect("backward");
    let eps = 1e-6;
    for (vi, var) in net.vars().iter().enumerate() {
        let g = grads
            .get(var)
            .expect("gradient")
            .flatten_all()
            .and_then(|t| t.to_vec1::<f64>())
            .expect("grad values");
        let base = var.as_tensor().copy().expect("copy");
        let shape = base.shape().clone();
        let values = base
            .flatten_all()
            .and_then(|t| t.to_vec1::<f64>())
            .expect("values");
        for k in (0..values.len()).step_by((values.len() / 5).max(1)) {
            let bump = |d: f64| {
                let mut v = values.clone();
                v[k] += d;
                var.set(&Tensor::from_vec(v, shape.clone(), &Device::Cpu).expect("t"))
                    .expect("set");
                let y = f(net);
                var.set(&base).expect("reset");
                y
            };
            let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let diff = (numeric - g[k]).abs();
            assert!(
                diff < 1e-6 * (1.0 + numeric.abs()),
                "var {vi}[{k}]: autograd {} vs finite differences {numeric}",
                g[k]
            );
        }
    }
}

fn to_f64(net: Net) -> Net {
    let conv =
        |v: &Var| Var::from_tensor(&v.as_tensor().to_dtype(DType::F64).expect("f64")).expect("var");
    Net {
        embeddings: net.embeddings.iter().map(conv).collect(),
        layers: net.layers.iter().map(|(w, b)| (conv(w), conv(b))).collect(),
        activation: net.activation,
        dropout: net.dropout,
    }
}

#[test]
fn linear_embedding_and_activations_match_finite_differences() {
    let dev = Device::Cpu;
    let mut rng = Rng::new(3);
    let rows = 6;
    let dense: Vec<f64> = (0..rows * 3).map(|_| rng.normal()).collect();
    let x = Tensor::from_vec(dense, (rows, 3), &dev).expect("x");
    let codes = Tensor::from_vec(vec![0u32, 1, 2, 1, 0, 2, 1, 1, 0, 0, 2, 2], (rows, 2), &dev)
        .expect("codes");
    let classes = Tensor::from_vec(vec![0u32, 1, 2, 2, 1, 0], rows, &dev).expect("y");
    let values: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
    let values = Tensor::from_vec(values, (rows, 1), &dev).expect("y");
    for act in [
        Activation::Tanh,
        Activation::Gelu,
        Activation::Logistic,
        Activation::Relu,
    ] {
        for (outputs, target, loss) in [(3, &classes, Loss::CrossEntropy), (1, &values, Loss::Mse)]
        {
            let spec = NetSpec {
                dense: 3,
                embeddings: vec![(3, 2), (3, 3)],
                hidden: vec![5, 4],
                outputs,
                activation: act,
                dropout: 0.0,
            };
            let net = Net::new(&spec, 1, &dev).expect("net");
            check(&to_f64(net), &[x.clone(), codes.clone()], target, loss);
        }
    }
}

#[test]
fn lstm_and_gru_layers_match_finite_differences() {
    let dev = Device::Cpu;
    let mut rng = Rng::new(5);
    let (rows, steps, channels, statics) = (3, 4, 2, 1);
    let seq: Vec<f64> = (0..rows * steps * channels).map(|_| rng.normal()).collect();
    let seq = Tensor::from_vec(seq, (rows, steps, channels), &dev).expect("seq");
    let st: Vec<f64> = (0..rows * statics).map(|_| rng.normal()).collect();
    let st = Tensor::from_vec(st, (rows, statics), &dev).expect("statics");
    let y: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
    let y = Tensor::from_vec(y, (rows, 1), &dev).expect("y");
    for kind in [CellKind::Lstm, CellKind::Gru] {
        // One layer one way; two stacked layers both ways (the second reads both directions).
        for (layers, bidirectional) in [(1, false), (2, true)] {
            let spec = RecurrentSpec {
                kind,
                inputs: channels,
                hidden: 3,
                layers,
                bidirectional,
                dropout: 0.0,
            };
            let net = RnnNet::new(&spec, statics, 1, 7, &dev)
                .and_then(|n| n.to_dtype(DType::F64))
                .expect("net");
            check(&net, &[seq.clone(), st.clone()], &y, Loss::Mse);
        }
    }
}
