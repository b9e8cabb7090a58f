//! The Kolmogorov–Smirnov distributions for a finite sample size, after SciPy
//! (`scipy/stats/_ksstats.py`, the `kstwo` distribution, and `xsf/cephes/kolmogorov.h`,
//! `smirnov`):
//!
//! * [`kolmogn_sf`]: `Pr(D_n > x)` for the two-sided statistic (Simard & L'Ecuyer 2011's choice
//!   of algorithm: Ruben–Gambino's closed forms at the ends, Durbin's matrix (Marsaglia, Tsang
//!   & Wang 2003) and Pomeranz (1974) for small `n`, twice the one-sided tail in the upper tail,
//!   Pelz & Good (1976) for large `n`);
//! * [`smirnov_sf`]: `Pr(D⁺_n ≥ x)` for the one-sided statistic (Smirnov 1944, Birnbaum &
//!   Tingey 1951), summed in logarithms instead of xsf's double-double arithmetic (relative
//!   error below 1e-12 in the tested range).

use super::special::Sum;

const E128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
const SQRT_2PI: f64 = 2.506_628_274_631_000_2;
const MIN_LOG: f64 = -708.0;
/// `log(f64::MIN_POSITIVE)`-ish bound below which `exp` underflows (Cephes' `MINLOG`).
const CEPHES_MINLOG: f64 = -708.396_418_532_264_1;

/// `Pr(D_n > x)`, the survival function of the two-sided one-sample Kolmogorov–Smirnov
/// statistic for `n` observations (SciPy's `kstwo.sf(x, n)`).
pub fn kolmogn_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/2n <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let f = 2.0 * t - 1.0;
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * f))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754_693 {
            return clip(1.0 - durbin_cdf(n, x));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `ln(n! / n^n)` by Stirling's series.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const C: [f64; 8] = [
        -0.029_550_653_594_771_242,
        0.006_410_256_410_256_41,
        -0.001_917_526_917_526_917_6,
        0.000_841_750_841_750_841_7,
        -0.000_595_238_095_238_095_3,
        0.000_793_650_793_650_793_7,
        -0.002_777_777_777_777_778,
        0.083_333_333_333_333_33,
    ];
    let rn = 1.0 / n;
    let y = rn / n;
    let poly = C.iter().fold(0.0, |acc, c| acc * y + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// `Pr(D_n <= d)` by Durbin's matrix algorithm as Marsaglia, Tsang & Wang (2003) arrange it.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0; m * m];
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        // H[i-1:, i] = w[:m-i+1]
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut hexpnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > E128 {
            for x in hm.iter_mut() {
                *x /= E128;
            }
            hexpnt += 128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= E128;
            expnt -= 128;
        }
    }
    if expnt != 0 {
        p *= 2f64.powi(expnt);
    }
    clip(p)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let row = &b[k * m..(k + 1) * m];
            let o = &mut out[i * m..(i + 1) * m];
            for (x, y) in o.iter_mut().zip(row) {
                *x += aik * y;
            }
        }
    }
    out
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `Pr(D_n <= x)` by Pomeranz's recursion (1974), as SciPy's `_kolmogn_Pomeranz`.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let ni = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i32 = 0;
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_m2g_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s): (i64, i64) = (0, 0);
    let mut j1 = pomeranz_j1j2(0, ni, ll, ceilf, roundf).0;
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (next_j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = next_j1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let start = (k1 - v0s).max(0) as usize;
            let end = (start + ln2).min(npwrs);
            let a = &v0[start.min(npwrs)..end.max(start.min(npwrs))];
            let b = &pwrs[..ln2.min(npwrs)];
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            let full = a.len() + b.len() - 1;
            for (o, idx) in (conv_start..(conv_start + conv_len).min(full)).enumerate() {
                // conv[idx] = Σ_i a[i] b[idx - i]
                let lo = idx.saturating_sub(b.len() - 1);
                let hi = idx.min(a.len() - 1);
                let mut s = 0.0;
                for ia in lo..=hi {
                    s += a[ia] * b[idx - ia];
                }
                v1[o] = s;
            }
            let vmax = v1[..conv_len.min(npwrs)]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < vmax && vmax < EM128 {
                v1.iter_mut().for_each(|x| *x *= E128);
                expnt -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > E128 {
            ans *= EM128;
            expnt += 128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans *= 2f64.powi(expnt);
    }
    clip(ans)
}

/// Pelz & Good's (1976) approximation of `Pr(D_n <= x)`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let qlog = -pi2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (a, c) in k.iter_mut().zip(coeffs) {
            *a = *a * qpower + c;
        }
    }
    let div = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (a, d) in k.iter_mut().zip(div) {
        *a = *a * q * SQRT_2PI / d;
    }
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ks2 = ks * ks;
        let qp = q2.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * ks;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * SQRT_2PI / (-36.0 * z3);
    k[3] += k3extra * pi2 * SQRT_2PI / (216.0 * z6);
    let mut total = 0.0;
    for (i, a) in k.iter().enumerate() {
        total += a / nf.powf(i as f64 / 2.0);
    }
    total
}

/// `floor(n x)` and its fractional part, exactly (the product's rounding error recovered with
/// a fused multiply-add).
fn mod_nx(n: u64, x: f64) -> (i64, f64) {
    let nf = n as f64;
    let p = nf * x;
    let e = nf.mul_add(x, -p);
    let mut fl = p.floor();
    let mut alpha = (p - fl) + e;
    if alpha < 0.0 {
        fl -= 1.0;
        alpha += 1.0;
    }
    if alpha >= 1.0 {
        fl += 1.0;
        alpha -= 1.0;
    }
    (fl as i64, alpha)
}

/// `Pr(D⁺_n ≥ x)`, the one-sided Kolmogorov–Smirnov tail (SciPy's `special.smirnov`).
///
/// Sums `x Σ_v C(n, v) (1 - x - v/n)^{n-v} (x + v/n)^{v-1}` over `v ≤ n(1 - x)`, or the
/// complementary upper sum when it has at most three terms, stopping once the remaining terms
/// cannot matter, as xsf does.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let ni = n as i64;
    let nf = n as f64;
    let (nxfl, alpha) = mod_nx(n, x);
    let mut n1mxfl = ni - nxfl - i64::from(alpha != 0.0);
    let mut n1mxceil = ni - nxfl;
    if alpha == 0.0 {
        n1mxfl -= 1;
        n1mxceil += 1;
    }
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = (1.0 + x).powf(nf - 1.0);
        return clip(1.0 - x * t);
    }
    if -2.0 * nf * x * x < CEPHES_MINLOG {
        return 0.0;
    }
    if nxfl >= ni - 1 {
        return clip((1.0 - x).powf(nf));
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 + logp.exp_m1()
        };
    }
    let n_upper_terms = ni - n1mxceil + 1;
    let use_upper =
        (n_upper_terms <= 1 && x < 0.5) || (ni >= 10 && n_upper_terms <= 3 && x <= 0.5 / nf.sqrt());
    let (start, step, n_terms) = if use_upper {
        (ni, -1i64, ni - n1mxceil + 1)
    } else {
        (0i64, 1i64, n1mxfl + 1)
    };
    // ln |A_v| and its sign, A_v = C(n, v) (1 - x - v/n)^{n-v} (x + v/n)^{v-1}.
    let term = |v: i64, ln_c: f64| -> f64 {
        // x + v/n and 1 - x - v/n from the exact n x.
        let t1x = ((nxfl + v) as f64 + alpha) / nf;
        let t2num = (ni - nxfl - v) as f64 - alpha;
        let t2x = t2num / nf;
        let pow1 = (v - 1) as f64 * t1x.ln();
        let (ln_t2, sign) = if t2x == 0.0 {
            return if ni - v == 0 {
                (ln_c + pow1).exp()
            } else {
                0.0
            };
        } else if t2x > 0.0 {
            let l = if t1x < 0.5 { (-t1x).ln_1p() } else { t2x.ln() };
            (l, 1.0)
        } else {
            let s = if (ni - v) % 2 == 0 { 1.0 } else { -1.0 };
            ((-t2x).ln(), s)
        };
        sign * (ln_c + (ni - v) as f64 * ln_t2 + pow1).exp()
    };
    let mut sum = Sum::default();
    let first = if use_upper {
        (1.0 + x).powf(nf - 1.0)
    } else {
        (1.0 - x).powf(nf) / x
    };
    sum.add(first);
    // ln C(n, j), updated as j grows.
    // Compensated: thousands of increments to a value in the thousands would otherwise lose
    // 1e-10 of the result's relative precision.
    let mut ln_c = Sum::default();
    let vmid = ni / 2;
    let mut j = 1i64;
    ln_c.add(nf.ln());
    while j < n_terms {
        let v = start + j * step;
        let aj = term(v, ln_c.value());
        if aj.is_finite() && aj != 0.0 {
            sum.add(aj);
        }
        if aj != 0.0 {
            if 4.0 * (n_terms - j) as f64 * aj.abs() < f64::EPSILON * sum.value()
                && j != n_terms - 1
            {
                break;
            }
        } else if j > vmid {
            break;
        }
        ln_c.add(((ni - j) as f64 / (j + 1) as f64).ln());
        j += 1;
    }
    let prob = x * sum.value();
    let sf = if step < 0 { 1.0 - prob } else { prob };
    clip(sf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn smirnov_matches_scipy() {
        // scipy.special.smirnov(n, x)
        assert!(close(smirnov_sf(10, 0.3), 0.135_463_555_6, 1e-12));
        assert!(close(
            smirnov_sf(1000, 0.05),
            0.006_506_037_390_545_166,
            1e-11
        ));
        assert!(close(
            smirnov_sf(100_000, 0.005),
            0.006_715_412_488_899_804,
            1e-10
        ));
    }

    #[test]
    fn kolmogn_matches_scipy() {
        // scipy.stats.kstwo.sf(x, n)
        assert!(close(kolmogn_sf(20, 0.1), 0.976_255_094_592_155, 1e-12));
        assert!(close(kolmogn_sf(20, 0.3), 0.043_067_066_658_516_23, 1e-12));
        assert!(close(kolmogn_sf(500, 0.03), 0.747_316_670_045_702_1, 1e-11));
        assert!(close(
            kolmogn_sf(200_000, 0.002),
            0.399_950_853_690_380_97,
            1e-9
        ));
    }
}
