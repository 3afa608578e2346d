//! The campaign's mutations of real files: byte flips, truncations, splices and edits of the
//! little-endian words that look like sizes, offsets or counts (the fields a corrupt object
//! most often lies about). Deterministic: the same seed gives the same mutants.

/// SplitMix64: small, fast and good enough to pick offsets and values.
pub struct Rng(u64);

impl Rng {
    /// A generator whose numbers depend on `seed` only (a campaign's case number).
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (which must not be zero).
    pub fn below(&mut self, n: usize) -> usize {
        (self.word() % n as u64) as usize
    }
}

/// One kind of damage; a mutant gets one to three of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// One to eight bytes replaced, or one bit flipped in each.
    Flip,
    /// The file cut short.
    Truncate,
    /// A run of bytes copied over another place in the file.
    Splice,
    /// A word whose value is a plausible size or offset (1..=file length) replaced by a
    /// boundary value.
    SizeField,
}

impl Mutation {
    /// Every kind, for drawing one at random.
    pub const ALL: [Mutation; 4] = [
        Mutation::Flip,
        Mutation::Truncate,
        Mutation::Splice,
        Mutation::SizeField,
    ];
}

/// `original` with one to three random mutations; also returns which were applied.
pub fn mutant(original: &[u8], rng: &mut Rng) -> (Vec<u8>, Vec<Mutation>) {
    let mut bytes = original.to_vec();
    let mut applied = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let mutation = Mutation::ALL[rng.below(Mutation::ALL.len())];
        if bytes.is_empty() {
            break;
        }
        match mutation {
            Mutation::Flip => flip(&mut bytes, rng),
            Mutation::Truncate => bytes.truncate(rng.below(bytes.len())),
            Mutation::Splice => splice(&mut bytes, rng),
            Mutation::SizeField => size_field(&mut bytes, rng),
        }
        applied.push(mutation);
    }
    (bytes, applied)
}

fn flip(bytes: &mut [u8], rng: &mut Rng) {
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len());
        bytes[at] = if rng.below(2) == 0 {
            bytes[at] ^ (1 << rng.below(8))
        } else {
            rng.word() as u8
        };
    }
}

fn splice(bytes: &mut [u8], rng: &mut Rng) {
    let len = 1 + rng.below(64.min(bytes.len()));
    let from = rng.below(bytes.len() - len + 1);
    let to = rng.below(bytes.len() - len + 1);
    bytes.copy_within(from..from + len, to);
}

/// Replaces a 4- or 8-byte aligned little-endian word holding `1..=len` (the file's length)
/// with a boundary value; falls back to a random aligned word when none looks like a size.
fn size_field(bytes: &mut [u8], rng: &mut Rng) {
    let width = if rng.below(2) == 0 { 4 } else { 8 };
    if bytes.len() < width {
        return;
    }
    let word = |at: usize, bytes: &[u8]| {
        let mut w = [0u8; 8];
        w[..width].copy_from_slice(&bytes[at..at + width]);
        u64::from_le_bytes(w)
    };
    let len = bytes.len() as u64;
    let sizes: Vec<usize> = (0..=bytes.len() - width)
        .step_by(width)
        .filter(|&at| (1..=len).contains(&word(at, bytes)))
        .collect();
    let at = if sizes.is_empty() {
        rng.below(bytes.len() / width) * width
    } else {
        sizes[rng.below(sizes.len())]
    };
    let old = word(at, bytes);
    let max = if width == 4 {
        u32::MAX as u64
    } else {
        u64::MAX
    };
    let candidates = [
        0,
        1,
        old.wrapping_sub(1),
        old.wrapping_add(1),
        old.wrapping_mul(2),
        old.wrapping_add(8),
        len,
        len + 1,
        max >> 1,
        (max >> 1) + 1,
        max,
        max - 7,
        rng.word() & max,
    ];
    let new = candidates[rng.below(candidates.len())] & max;
    bytes[at..at + width].copy_from_slice(&new.to_le_bytes()[..width]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_deterministic_and_differ_from_the_original() {
        let original: Vec<u8> = (0..200u8).collect();
        let a: Vec<_> = (0..50)
            .map(|s| mutant(&original, &mut Rng::new(s)))
            .collect();
        let b: Vec<_> = (0..50)
            .map(|s| mutant(&original, &mut Rng::new(s)))
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().filter(|(m, _)| *m != original).count() > 40);
        for kind in Mutation::ALL {
            assert!(
                a.iter().any(|(_, applied)| applied.contains(&kind)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn size_fields_are_found() {
        // A word 8 at offset 4 (the only value in 1..=len) is the one edited.
        let mut bytes = vec![0u8; 16];
        bytes[4] = 8;
        let mut edited = 0;
        for seed in 0..64 {
            let mut b = bytes.clone();
            let mut rng = Rng::new(seed);
            size_field(&mut b, &mut rng);
            if b[..4] == [0; 4] && b[8..] == [0; 8] && b[4..8] != [8, 0, 0, 0] {
                edited += 1;
            }
        }
        assert!(edited > 10, "{edited}");
    }
}
