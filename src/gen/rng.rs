//! The generator's random numbers: SplitMix64 seeded from `--seed` and the kind, with the few
//! draws the generator makes (integers in a range, percentages, picks, weighted picks, samples).

/// SplitMix64 (Steele, Lea and Flood): 64 bits of state, one add and a mix per draw. The same
/// seed always gives the same stream, on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

/// SplitMix64's increment (the golden ratio in 64 bits).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A stream for `seed` on `stream` (the generator passes the kind there, so an 837P and an
    /// 837I with the same seed differ).
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng {
            state: mix(seed) ^ mix(stream.wrapping_add(GAMMA)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by Lemire's multiply-high: the bias is below
    /// `n / 2^64`, nothing for the small ranges drawn here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (Python's `randint`); `lo` when `hi < lo`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p` percent.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    /// Uniform in `[0, 1)` with 53 bits (Python's `random()`).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// One item of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One item of a non-empty slice of `(item, weight)`, with probability proportional to
    /// its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            let w = u64::from(*w);
            if x < w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    /// `k` (1 or 2) distinct items of a slice of at least `k`, in random order (Python's
    /// `random.sample`); more than 2 are never drawn.
    pub fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> ([T; 2], usize) {
        let n = items.len() as u64;
        let i = self.below(n);
        if k < 2 || n < 2 {
            return ([items[i as usize]; 2], 1);
        }
        let mut j = self.below(n - 1);
        if j >= i {
            j += 1;
        }
        ([items[i as usize], items[j as usize]], 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_seeds_or_streams_differ() {
        let draw = |seed, stream| {
            let mut r = Rng::new(seed, stream);
            (0..8).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 1), draw(7, 1));
        assert_ne!(draw(7, 1), draw(8, 1));
        assert_ne!(draw(7, 1), draw(7, 2));
    }

    #[test]
    fn draws_stay_in_their_ranges_and_cover_them() {
        let mut r = Rng::new(1, 0);
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            let x = r.range(20, 25);
            assert!((20..=25).contains(&x));
            seen[(x - 20) as usize] += 1;
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        // Each of six values near 1000 times: a skewed draw would show here.
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.range(5, 4), 5);
    }

    #[test]
    fn weights_and_percentages_are_honoured() {
        let mut r = Rng::new(2, 0);
        let n = 20_000;
        let heavy = (0..n)
            .filter(|_| r.weighted(&[("a", 60), ("b", 20), ("c", 20)]) == "a")
            .count();
        assert!((11_400..12_600).contains(&heavy), "{heavy}");
        let hits = (0..n).filter(|_| r.percent(12)).count();
        assert!((2_000..2_800).contains(&hits), "{hits}");
        assert!((0..1000).all(|_| !r.percent(0)));
        assert!((0..1000).all(|_| r.percent(100)));
    }

    #[test]
    fn samples_are_distinct() {
        let mut r = Rng::new(3, 0);
        for _ in 0..1000 {
            let (s, n) = r.sample(&[1, 2, 3], 2);
            assert_eq!(n, 2);
            assert_ne!(s[0], s[1]);
            let (s, n) = r.sample(&[1, 2, 3], 1);
            assert_eq!(n, 1);
            assert!((1..=3).contains(&s[0]));
        }
    }
}
