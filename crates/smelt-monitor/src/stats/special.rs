//! Special functions behind the p-values: the normal and chi-square tails, the exponentially
//! scaled modified Bessel function `K_{1/4}` (Cramér–von Mises' limit distribution), and an
//! accurate sum.
//!
//! `erf`, `erfc` and `lgamma` come from `libm` (a port of musl, within an ulp or two); the
//! incomplete gamma function follows Cephes' `igam`/`igamc` (series below `a + 1`, Legendre's
//! continued fraction above), which SciPy's `chdtrc` also evaluates.

/// `ln Γ(x)` for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// Standard normal CDF `Φ(a)`, as SciPy's `special.ndtr` (Cephes' `ndtr`): `erf` near zero,
/// `erfc` in the tails so that small probabilities keep their relative precision.
pub fn ndtr(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < 1.0 {
        0.5 + 0.5 * libm::erf(x)
    } else {
        let y = 0.5 * libm::erfc(z);
        if x > 0.0 { 1.0 - y } else { y }
    }
}

/// Standard normal survival function `1 - Φ(z)`, accurate in the upper tail.
pub fn norm_sf(z: f64) -> f64 {
    ndtr(-z)
}

/// Chi-square survival function with `df` degrees of freedom, `Q(df/2, x/2)` (SciPy's
/// `chi2.sf`).
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    gamma_q(df / 2.0, x / 2.0)
}

/// Regularised upper incomplete gamma function `Q(a, x) = Γ(a, x) / Γ(a)` (Cephes' `igamc`).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < 1.0 || x < a {
        return 1.0 - gamma_p_series(a, x);
    }
    gamma_q_fraction(a, x)
}

/// Regularised lower incomplete gamma function `P(a, x)` (Cephes' `igam`).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x > 1.0 && x > a {
        return 1.0 - gamma_q_fraction(a, x);
    }
    gamma_p_series(a, x)
}

/// `x^a e^{-x} / Γ(a)`, the prefactor of both expansions.
fn gamma_prefactor(a: f64, x: f64) -> f64 {
    (a * x.ln() - x - ln_gamma(a)).exp()
}

/// Power series of `P(a, x)`, converging for all `x` and fast for `x < a + 1`.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let ax = gamma_prefactor(a, x);
    if ax == 0.0 {
        return 0.0;
    }
    let mut r = a;
    let mut c = 1.0;
    let mut ans = 1.0;
    loop {
        r += 1.0;
        c *= x / r;
        ans += c;
        if c <= ans * f64::EPSILON {
            break;
        }
    }
    ans * ax / a
}

/// Legendre's continued fraction of `Q(a, x)` (Cephes' `igamc` loop), for `x > a`.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    const BIG: f64 = 4.503_599_627_370_496e15;
    const BIGINV: f64 = 2.220_446_049_250_313e-16;
    let ax = gamma_prefactor(a, x);
    if ax == 0.0 {
        return 0.0;
    }
    let mut y = 1.0 - a;
    let mut z = x + y + 1.0;
    let mut c = 0.0;
    let mut pkm2 = 1.0;
    let mut qkm2 = x;
    let mut pkm1 = x + 1.0;
    let mut qkm1 = z * x;
    let mut ans = pkm1 / qkm1;
    for _ in 0..100_000 {
        c += 1.0;
        y += 1.0;
        z += 2.0;
        let yc = y * c;
        let pk = pkm1 * z - pkm2 * yc;
        let qk = qkm1 * z - qkm2 * yc;
        let t = if qk != 0.0 {
            let r = pk / qk;
            let t = ((ans - r) / r).abs();
            ans = r;
            t
        } else {
            1.0
        };
        pkm2 = pkm1;
        pkm1 = pk;
        qkm2 = qkm1;
        qkm1 = qk;
        if pk.abs() > BIG {
            pkm2 *= BIGINV;
            pkm1 *= BIGINV;
            qkm2 *= BIGINV;
            qkm1 *= BIGINV;
        }
        if t <= f64::EPSILON {
            break;
        }
    }
    ans * ax
}

/// `e^{x} K_ν(x)` for `x > 0`: the modified Bessel function of the second kind, exponentially
/// scaled (SciPy's `kve`), from `K_ν(x) = ∫₀^∞ e^{-x cosh t} cosh(νt) dt`.
///
/// The integrand is analytic and even in a strip `|Im t| < π/2`, so the trapezoidal rule
/// converges geometrically (error about `e^{-π²/h}`, and `e^{-2π²/(x h²)}` across the peak of
/// width `1/√x`); with `h = min(1/16, 1/(2√x))` it is exact to rounding.
pub fn bessel_kve(nu: f64, x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    // The integrand's peak at 0 narrows like 1/√x: keep several steps across it.
    let h = (1.0 / 16.0f64).min(0.5 / x.sqrt());
    // e^{x} e^{-x cosh t} = e^{-x (cosh t - 1)} = e^{-2x sinh²(t/2)}.
    let f = |t: f64| {
        let s = (0.5 * t).sinh();
        (-2.0 * x * s * s).exp() * (nu * t).cosh()
    };
    let mut sum = 0.5 * f(0.0);
    let mut k = 1.0;
    loop {
        let v = f(k * h);
        sum += v;
        if v < sum * 1e-18 {
            break;
        }
        k += 1.0;
    }
    sum * h
}

/// Neumaier's compensated sum: the error does not grow with the number of terms.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    /// Adds a term.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if t.is_finite() {
            if self.sum.abs() >= x.abs() {
                self.compensation += (self.sum - t) + x;
            } else {
                self.compensation += (x - t) + self.sum;
            }
        }
        self.sum = t;
    }

    /// The sum so far (an infinite or NaN term makes it infinite or NaN, as a plain sum).
    #[inline]
    pub fn value(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

/// A fast accurate sum for hot loops: plain sums of blocks of 256 terms (error at most 256 ulp
/// of a block), the blocks added with [`Sum`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockSum {
    total: Sum,
    block: f64,
    count: u32,
}

impl BlockSum {
    /// Adds a term.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.block += x;
        self.count += 1;
        if self.count == 256 {
            self.total.add(self.block);
            self.block = 0.0;
            self.count = 0;
        }
    }

    /// The sum so far.
    pub fn value(&self) -> f64 {
        let mut t = self.total;
        t.add(self.block);
        t.value()
    }
}

/// `Σ xs` with [`Sum`].
pub fn accurate_sum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Sum::default();
    for x in xs {
        s.add(x);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn normal_tails() {
        // scipy.special.ndtr
        assert!(close(ndtr(0.0), 0.5, 1e-15));
        assert!(close(ndtr(-1.0), 0.158_655_253_931_457_07, 1e-14));
        assert!(close(ndtr(-10.0), 7.619_853_024_160_47e-24, 1e-12));
        assert!(close(norm_sf(3.0), 0.001_349_898_031_630_093_3, 1e-13));
    }

    #[test]
    fn chi_square_tail() {
        // scipy.stats.chi2.sf
        assert!(close(chi2_sf(3.0, 2.0), (-1.5f64).exp(), 1e-14));
        assert!(close(chi2_sf(10.0, 3.0), 0.018_566_135_463_043_25, 1e-12));
        assert!(close(chi2_sf(1.0, 5.0), 0.962_565_773_247_296_4, 1e-12));
        assert!(close(
            chi2_sf(500.0, 400.0),
            0.000_482_212_759_593_432_73,
            1e-9
        ));
        assert_eq!(chi2_sf(f64::INFINITY, 3.0), 0.0);
    }

    #[test]
    fn bessel_k_quarter() {
        // scipy.special.kve(0.25, x)
        assert!(close(bessel_kve(0.25, 1.0), 1.170_872_101_678_126_5, 1e-13));
        assert!(close(bessel_kve(0.25, 0.01), 6.227_707_994_041_582, 1e-12));
        assert!(close(
            bessel_kve(0.25, 50.0),
            0.176_916_612_134_904_56,
            1e-12
        ));
    }

    #[test]
    fn compensated_sum() {
        let v = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(accurate_sum(v), 2.0);
    }
}
