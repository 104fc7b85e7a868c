//! The distribution of one figure over many sessions, in bounded memory: exact while it
//! is small, then a log-bucketed sketch whose quantiles are within half a percent.

/// Values kept exactly before the distribution becomes a sketch (512 KiB of them): an
/// audit log of ordinary size is summarised exactly, a huge one in flat memory.
const EXACT: usize = 65_536;

/// Neighbouring buckets of the sketch differ by this factor: a bucket's midpoint is within
/// (GAMMA - 1) / (GAMMA + 1), about 0.5%, of every value in it.
const GAMMA: f64 = 1.01;

/// One figure's values: how many, the largest and smallest, and their quantiles.
#[derive(Debug, Default)]
pub(crate) struct Distribution {
    exact: Vec<f64>,
    sketch: Option<Sketch>,
    count: u64,
    max: f64,
    min: f64,
    sorted: bool,
}

/// Values counted per bucket of a logarithmic scale (zero and below apart): a dense array
/// from the lowest bucket seen to the highest (a few thousand for any real figure).
#[derive(Debug, Default)]
struct Sketch {
    zeros: u64,
    lowest: i32,
    counts: Vec<u64>,
}

impl Sketch {
    fn add(&mut self, value: f64) {
        if value <= 0.0 {
            self.zeros += 1;
            return;
        }
        let index = bucket(value);
        if self.counts.is_empty() {
            self.lowest = index;
        } else if index < self.lowest {
            let more = usize::try_from(self.lowest - index).unwrap_or(0);
            self.counts.splice(0..0, std::iter::repeat_n(0, more));
            self.lowest = index;
        }
        let at = usize::try_from(index - self.lowest).unwrap_or(0);
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += 1;
    }

    /// Each bucket that holds values: its index and count.
    fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (self.lowest..)
            .zip(self.counts.iter().copied())
            .filter(|&(_, count)| count > 0)
    }

    /// The value of rank `rank` (from 1): the midpoint of the bucket it falls in.
    fn ranked(&self, rank: u64) -> f64 {
        if rank <= self.zeros {
            return 0.0;
        }
        let mut seen = self.zeros;
        let mut last = 0.0;
        for (index, count) in self.buckets() {
            seen += count;
            last = midpoint(index);
            if seen >= rank {
                break;
            }
        }
        last
    }
}

#[allow(clippy::cast_possible_truncation)] // a bucket index of any finite f64 fits
fn bucket(value: f64) -> i32 {
    (ln(value) / ln(GAMMA)).ceil() as i32
}

/// The natural logarithm, from the `libm` crate: `f64::ln` would link the C library's
/// libm.so, which leash would then load at every start (BENCHMARKS.md: 0.2 ms, a tenth of
/// a start of `timeout`).
fn ln(x: f64) -> f64 {
    libm::log(x)
}

fn midpoint(index: i32) -> f64 {
    2.0 * GAMMA.powi(index) / (GAMMA + 1.0)
}

impl Distribution {
    /// Count `value` (a non-finite one is not a figure, and is left out).
    pub(crate) fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.count == 0 || value > self.max {
            self.max = value;
        }
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        self.count += 1;
        self.sorted = false;
        match self.sketch.as_mut() {
            Some(sketch) => sketch.add(value),
            None if self.exact.len() < EXACT => self.exact.push(value),
            None => {
                let mut sketch = Sketch::default();
                for kept in self.exact.drain(..).chain([value]) {
                    sketch.add(kept);
                }
                self.exact = Vec::new();
                self.sketch = Some(sketch);
            }
        }
    }

    /// How many values were counted.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Whether the quantiles are exact (no sketch was needed).
    pub(crate) fn is_exact(&self) -> bool {
        self.sketch.is_none()
    }

    /// The largest value.
    pub(crate) fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The smallest value.
    pub(crate) fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The `q` quantile by nearest rank (the value of rank ⌈q·n⌉): a value that was seen,
    /// or within half a percent of one once the distribution is a sketch.
    pub(crate) fn quantile(&mut self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = nearest_rank(q, self.count);
        let value = if let Some(sketch) = &self.sketch {
            sketch.ranked(rank)
        } else {
            if !self.sorted {
                self.exact.sort_by(f64::total_cmp);
                self.sorted = true;
            }
            self.exact[usize::try_from(rank - 1).unwrap_or(0)]
        };
        Some(value.clamp(self.min, self.max))
    }

    /// How many values fall in each of `bins` bins between the smallest and the largest,
    /// on a logarithmic scale (sizes and durations spread over orders of magnitude).
    pub(crate) fn histogram(&self, bins: usize) -> Vec<u64> {
        let mut counts = vec![0; bins];
        let (Some(low), Some(high)) = (self.min(), self.max()) else {
            return counts;
        };
        let floor = low.max(high * 1e-9).max(f64::MIN_POSITIVE);
        let span = ln(high / floor);
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        #[allow(clippy::cast_sign_loss)]
        let bin_of = |value: f64| {
            if span <= 0.0 || value <= floor {
                return 0;
            }
            ((ln(value / floor) / span * bins as f64) as usize).min(bins - 1)
        };
        match &self.sketch {
            None => self.exact.iter().for_each(|&v| counts[bin_of(v)] += 1),
            Some(sketch) => {
                counts[0] += sketch.zeros;
                for (index, count) in sketch.buckets() {
                    counts[bin_of(midpoint(index))] += count;
                }
            }
        }
        counts
    }
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn nearest_rank(q: f64, count: u64) -> u64 {
    ((q * count as f64).ceil() as u64).clamp(1, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_distributions_are_exact_by_nearest_rank() {
        let mut d = Distribution::default();
        for v in [5.0, 1.0, 4.0, 2.0, 3.0] {
            d.add(v);
        }
        assert_eq!(d.quantile(0.5), Some(3.0));
        assert_eq!(d.quantile(0.95), Some(5.0));
        assert_eq!(d.quantile(0.2), Some(1.0));
        assert_eq!(d.max(), Some(5.0));
        assert!(d.is_exact());
        assert_eq!(Distribution::default().quantile(0.5), None);
    }

    #[test]
    fn large_distributions_stay_within_half_a_percent() {
        let mut d = Distribution::default();
        let n = 200_000_u32;
        for i in 1..=n {
            d.add(f64::from(i));
        }
        assert!(!d.is_exact());
        for q in [0.5, 0.95, 0.99] {
            let truth = (q * f64::from(n)).ceil();
            let got = d.quantile(q).unwrap();
            assert!(
                (got - truth).abs() <= truth * 0.005,
                "{q}: {got} vs {truth}"
            );
        }
        assert_eq!(d.max(), Some(f64::from(n)));
        assert_eq!(d.histogram(4).iter().sum::<u64>(), u64::from(n));
    }
}
