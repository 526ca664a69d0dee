//! `Debug` output that leaves secrets (passwords, session tokens, `auth_payload`) out.

use std::fmt;

/// Stands in for a secret value in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` for a present optional secret, `None` otherwise, so `Debug`
/// still tells whether it was sent.
pub(crate) fn redact_option<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}
