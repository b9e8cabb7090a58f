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
    net.to_dtype(DType::F64).expect("f64")
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

/// Central differences against autograd for `f` over every entry (up to `probes` per variable)
/// of `vars`.
fn check_vars(vars: &[Var], f: &dyn Fn() -> Tensor, probes: usize) {
    let grads = f().backward().expect("backward");
    let eps = 1e-6;
    for (vi, var) in vars.iter().enumerate() {
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
        for k in (0..values.len()).step_by((values.len() / probes).max(1)) {
            let bump = |d: f64| {
                let mut v = values.clone();
                v[k] += d;
                var.set(&Tensor::from_vec(v, shape.clone(), &Device::Cpu).expect("t"))
                    .expect("set");
                let y = f().to_scalar::<f64>().expect("scalar");
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

fn f64_var(v: &Var) -> Var {
    Var::from_tensor(&v.as_tensor().to_dtype(DType::F64).expect("f64")).expect("var")
}

/// The CNN's own kernels (convolution, batch norm with and without ReLU, max-pooling, the fused
/// dense layer, softmax cross-entropy): gradients of the loss with respect to the weights and
/// the input images.
#[test]
fn cnn_kernels_match_finite_differences() {
    use smelt_deep::cnn::layers::{BatchNorm2d, Conv2d};
    use smelt_deep::kernels::{Act, conv2d, cross_entropy, linear, max_pool2d};
    let dev = Device::Cpu;
    let mut rng = Rng::new(5);
    let (n, c, side) = (3, 2, 6);
    let pixels: Vec<f64> = (0..n * c * side * side).map(|_| rng.normal()).collect();
    let x = Var::from_tensor(&Tensor::from_vec(pixels, (n, c, side, side), &dev).expect("x"))
        .expect("var");
    let y = Tensor::from_vec(vec![0u32, 2, 1], n, &dev).expect("y");
    for (stride, padding, relu) in [(1, 1, true), (2, 0, false), (2, 1, true)] {
        let conv = Conv2d::new(c, 4, 3, stride, padding, &mut Rng::new(1), &dev).expect("conv");
        let (w, b) = (f64_var(&conv.weight), f64_var(&conv.bias));
        let bn = BatchNorm2d::new(4, &dev).expect("bn");
        // γ, β away from 1, 0 so their gradients are exercised.
        let gamma =
            Var::from_tensor(&Tensor::from_vec(vec![1.5f64, 0.7, -0.8, 1.1], 4, &dev).expect("g"))
                .expect("var");
        let beta =
            Var::from_tensor(&Tensor::from_vec(vec![0.1f64, -0.2, 0.3, 0.05], 4, &dev).expect("b"))
                .expect("var");
        let bn = BatchNorm2d {
            gamma: gamma.clone(),
            beta: beta.clone(),
            running_mean: f64_var(&bn.running_mean),
            running_var: f64_var(&bn.running_var),
        };
        let conv = Conv2d {
            weight: w.clone(),
            bias: b.clone(),
            stride,
            padding,
        };
        let out = side
            .div_ceil(stride)
            .min((side + 2 * padding - 3) / stride + 1);
        let flat = 4 * (out / 2) * (out / 2);
        let dw: Vec<f64> = (0..flat * 3).map(|_| rng.normal() * 0.3).collect();
        let dense_w =
            Var::from_tensor(&Tensor::from_vec(dw, (flat, 3), &dev).expect("w")).expect("v");
        let dense_b = Var::from_tensor(&Tensor::zeros(3, DType::F64, &dev).expect("b")).expect("v");
        // BN → ReLU → pool as three nodes, or as the fused one.
        let f = |fused: bool| -> Tensor {
            let h = conv.forward(x.as_tensor()).expect("conv");
            let h = if fused {
                bn.forward_act_pool(&h, true, relu, 2).expect("bn + pool")
            } else {
                let h = bn.forward_act(&h, true, relu).expect("bn");
                max_pool2d(&h, 2).expect("pool")
            };
            let h = h.flatten_from(1).expect("flat");
            let h = linear(&h, dense_w.as_tensor(), dense_b.as_tensor(), Act::Tanh).expect("dense");
            cross_entropy(&h, &y).expect("loss")
        };
        let vars = [
            x.clone(),
            w,
            b,
            gamma,
            beta,
            dense_w.clone(),
            dense_b.clone(),
        ];
        check_vars(&vars, &|| f(false), 7);
        check_vars(&vars, &|| f(true), 7);
        // The fused node's loss and gradients equal the three nodes'.
        let (split, joined) = (f(false), f(true));
        let (gs, gj) = (
            split.backward().expect("bwd"),
            joined.backward().expect("bwd"),
        );
        assert!(
            (split.to_scalar::<f64>().unwrap() - joined.to_scalar::<f64>().unwrap()).abs() < 1e-12
        );
        for v in &vars {
            let d = (gs.get(v).unwrap() - gj.get(v).unwrap())
                .and_then(|t| t.abs())
                .and_then(|t| t.max_all())
                .and_then(|t| t.to_scalar::<f64>())
                .unwrap();
            assert!(d < 1e-10, "fused BN/ReLU/pool gradient differs by {d}");
        }
        // The convolution alone against candle's.
        let ours = conv2d(
            x.as_tensor(),
            conv.weight.as_tensor(),
            conv.bias.as_tensor(),
            stride,
            padding,
        )
        .expect("ours");
        let theirs = x
            .as_tensor()
            .conv2d(conv.weight.as_tensor(), padding, stride, 1, 1)
            .and_then(|t| t.broadcast_add(&conv.bias.as_tensor().reshape((1, (), 1, 1))?))
            .expect("candle");
        let d = (ours - theirs)
            .and_then(|t| t.abs())
            .and_then(|t| t.max_all())
            .and_then(|t| t.to_scalar::<f64>())
            .expect("diff");
        assert!(d < 1e-12, "conv2d differs from candle's by {d}");
    }
}

/// The fused dense layer with each activation, in f32 too, against candle's ops.
#[test]
fn fused_linear_matches_candle() {
    use smelt_deep::kernels::{Act, linear};
    let dev = Device::Cpu;
    let mut rng = Rng::new(9);
    let x: Vec<f32> = (0..7 * 5).map(|_| rng.normal() as f32).collect();
    let w: Vec<f32> = (0..5 * 3).map(|_| rng.normal() as f32).collect();
    let x = Tensor::from_vec(x, (7, 5), &dev).expect("x");
    let w = Tensor::from_vec(w, (5, 3), &dev).expect("w");
    let b = Tensor::from_vec(vec![0.1f32, -0.3, 0.2], 3, &dev).expect("b");
    let z = x.matmul(&w).and_then(|t| t.broadcast_add(&b)).expect("z");
    for (act, want) in [
        (Act::Identity, z.clone()),
        (Act::Relu, z.relu().expect("relu")),
        (Act::Tanh, z.tanh().expect("tanh")),
        (Act::Sigmoid, candle_nn::ops::sigmoid(&z).expect("sigmoid")),
    ] {
        let got = linear(&x, &w, &b, act).expect("linear");
        let d = (got - want)
            .and_then(|t| t.abs())
            .and_then(|t| t.max_all())
            .and_then(|t| t.to_scalar::<f32>())
            .expect("diff");
        assert!(d < 1e-5, "{act:?}: {d}");
    }
}

/// The fused dense layer's gradients against candle's autograd on plain ops, for a narrow
/// output (dot-product loops) and a wide one (GEMM), over more rows than one parallel task.
#[test]
fn fused_linear_gradients_match_candles_autograd() {
    use candle_core::Var;
    use smelt_deep::kernels::{Act, linear};
    let dev = Device::Cpu;
    let mut rng = Rng::new(4);
    let (m, k) = (300, 19);
    for n in [1, 3, 12] {
        let mut draw = |len: usize| -> Vec<f64> { (0..len).map(|_| rng.normal()).collect() };
        let x = Var::from_vec(draw(m * k), (m, k), &dev).expect("x");
        let w = Var::from_vec(draw(k * n), (k, n), &dev).expect("w");
        let b = Var::from_vec(draw(n), n, &dev).expect("b");
        let up = Tensor::from_vec(draw(m * n), (m, n), &dev).expect("upstream");
        let ours = linear(x.as_tensor(), w.as_tensor(), b.as_tensor(), Act::Tanh).expect("ours");
        let plain = x
            .as_tensor()
            .matmul(w.as_tensor())
            .and_then(|t| t.broadcast_add(b.as_tensor()))
            .and_then(|t| t.tanh())
            .expect("plain");
        let g1 = (ours * &up)
            .and_then(|t| t.sum_all())
            .and_then(|t| t.backward())
            .expect("ours");
        let g2 = (plain * &up)
            .and_then(|t| t.sum_all())
            .and_then(|t| t.backward())
            .expect("plain");
        for (name, v) in [("x", &x), ("w", &w), ("b", &b)] {
            let (a, c) = (g1.get(v).expect("ours"), g2.get(v).expect("plain"));
            let d = (a - c)
                .and_then(|t| t.abs())
                .and_then(|t| t.max_all())
                .and_then(|t| t.to_scalar::<f64>())
                .expect("diff");
            assert!(d < 1e-10, "n = {n}: d{name} differs by {d}");
        }
    }
}
