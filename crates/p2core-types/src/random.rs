//! Operating-system randomness for identifiers, challenges and tokens.

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
/// Only if the operating system has no usable random source, in which case no
/// secure identifier can be made at all.
pub fn fill(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source failed");
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    fill(&mut b);
    b
}

/// A uniformly random string of `len` characters drawn from `alphabet`
/// (rejection sampling, so no character is favoured).
pub(crate) fn from_alphabet(alphabet: &[u8], len: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while out.len() < len {
        fill(&mut pool);
        for &b in &pool {
            if (b as usize) < limit {
                out.push(alphabet[b as usize % alphabet.len()] as char);
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

pub(crate) fn alphanumeric_lower(len: usize) -> String {
    from_alphabet(b"abcdefghijklmnopqrstuvwxyz0123456789", len)
}
