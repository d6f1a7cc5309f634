//! What slug's tests share (the integration tests with `mod support;`,
//! the crate's own unit tests through `#[path]`).

/// Bytes that do not compress (xorshift from `seed`), so compressed sizes
/// are predictable; the same `n` and `seed` give the same bytes.
pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}
