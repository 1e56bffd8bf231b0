//! A small deterministic random number generator (SplitMix64).
//!
//! The generator's promise is "same seed, same stream", across releases of
//! Tailor and of its dependencies. An external RNG crate may change its
//! algorithms or sampling between versions; these few lines never will.

/// SplitMix64: fast, statistically solid for simulation, trivially seedable.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) const fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent stream for `label` (so adding a draw in one place
    /// does not shift every other draw).
    pub(crate) fn fork(&self, label: u64) -> Self {
        let mut r = Self(self.0 ^ label.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    pub(crate) const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [lo, hi].
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Uniform in [lo, hi] for signed values.
    pub(crate) fn range_i(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.next_u64() % (hi - lo + 1).unsigned_abs()).unwrap_or(0)
    }

    /// One item of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// A Poisson draw with mean `lambda` (Knuth; fine for small means).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.unit();
            if p <= limit || k > 1000 {
                return k;
            }
            k += 1;
        }
    }

    /// A hex id of `n` random bytes.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 2);
        while s.len() < n * 2 {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n * 2);
        s
    }
}
