//! [`LimitSettings`]: rate limits and the caps on what clients can make the server hold.

use std::time::Duration;

use super::{InvalidSetting, check_range, settings};

settings! {
    /// Rate limits (token buckets per client address, network, session or actor;
    /// each rate is also its burst; `None` = unlimited) and the bounds of what one
    /// client can make the server keep.
    pub struct LimitSettings {
        /// `POST /register` per minute and client address (default 60).
        register_per_minute: Option<u32> = Some(60),
        /// `POST /session/trust` (and its legacy path) per minute and client address (default 120).
        trust_per_minute: Option<u32> = Some(120),
        /// `GET /challenge` per minute and client address (default 1200).
        challenge_per_minute: Option<u32> = Some(1200),
        /// `POST /session/identify` per minute and client address (default 600).
        identify_per_minute: Option<u32> = Some(600),
        /// KeyPackage claims per minute and calling session (default 120).
        keypackage_claims_per_minute: Option<u32> = Some(120),
        /// KeyPackage claims per minute of one actor's KeyPackages, all callers
        /// together (default 30).
        keypackage_claims_per_actor_per_minute: Option<u32> = Some(30),
        /// Authenticated writes (KeyPackage uploads, last-resort replacement, ID-Cert
        /// rotation, extern ID-Cert updates, session ends) per minute and session (default 60).
        session_writes_per_minute: Option<u32> = Some(60),
        /// The per-address limits also hold for networks: an IPv4 /24 and an IPv6 /56
        /// may make this factor times the requests of one address, an IPv6 /48 its
        /// square (IPv6: one /64 counts as one address). Default 4.
        network_factor: u32 = 4,
        /// Most addresses, networks or sessions each rate limiter remembers; when full,
        /// the entry closest to a full bucket is forgotten first (default 65 536).
        max_tracked_clients: usize = 65_536,
        /// Most password hashes (argon2id, 19 MiB each) computed at once; `None`:
        /// the number of CPUs (default).
        argon2_concurrency: Option<usize> = None,
        /// Most live sessions per actor: local sessions of an actor of this server,
        /// foreign sessions of one foreign actor (default 32).
        max_sessions_per_actor: u64 = 32,
        /// Most KeyPackages (regular and last-resort) one session may have stored (default 500).
        max_key_packages_per_session: u64 = 500,
        /// Largest `auth_payload` accepted (its JSON text), in bytes (default 4096).
        max_auth_payload_bytes: usize = 4096,
        /// Most challenges outstanding (issued, unused, unexpired) at once (default 100 000).
        max_challenges: usize = 100_000,
        /// Most outstanding challenges of one network (IPv6 /48, IPv4 /24), so one
        /// network cannot take every challenge (default 1000).
        max_challenges_per_network: u64 = 1000,
        /// Lifetime of a challenge string (default 5 min).
        challenge_lifetime: Duration = Duration::from_secs(300),
        /// Time between sweeps that drop expired challenges (default 30 s).
        challenge_prune_interval: Duration = Duration::from_secs(30),
        /// Bytes of encoded certificate-lookup answers (actor ID-Cert lists, the
        /// server's certificate and key) kept in memory; least recently used go
        /// first (default 16 MiB; 0 turns the cache off).
        response_cache_bytes: usize = 16 * 1024 * 1024,
    }
}

impl LimitSettings {
    /// Checks the ranges (a rate of `Some(0)` is refused: use `None` for unlimited).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let rates = [
            ("limits.register_per_minute", self.register_per_minute),
            ("limits.trust_per_minute", self.trust_per_minute),
            ("limits.challenge_per_minute", self.challenge_per_minute),
            ("limits.identify_per_minute", self.identify_per_minute),
            (
                "limits.keypackage_claims_per_minute",
                self.keypackage_claims_per_minute,
            ),
            (
                "limits.keypackage_claims_per_actor_per_minute",
                self.keypackage_claims_per_actor_per_minute,
            ),
            (
                "limits.session_writes_per_minute",
                self.session_writes_per_minute,
            ),
        ];
        for (name, rate) in rates {
            if rate == Some(0) {
                return Err(InvalidSetting::new(
                    name,
                    "0 allows nothing; use None for unlimited",
                ));
            }
        }
        let s = Duration::from_secs;
        check_range("limits.network_factor", self.network_factor, 1, 100_000)?;
        check_range(
            "limits.max_tracked_clients",
            self.max_tracked_clients,
            16,
            10_000_000,
        )?;
        if let Some(n) = self.argon2_concurrency {
            check_range("limits.argon2_concurrency", n, 1, 4096)?;
        }
        check_range(
            "limits.max_sessions_per_actor",
            self.max_sessions_per_actor,
            1,
            10_000,
        )?;
        check_range(
            "limits.max_key_packages_per_session",
            self.max_key_packages_per_session,
            1,
            100_000,
        )?;
        check_range(
            "limits.max_auth_payload_bytes",
            self.max_auth_payload_bytes,
            0,
            1 << 20,
        )?;
        check_range("limits.max_challenges", self.max_challenges, 1, 10_000_000)?;
        check_range(
            "limits.max_challenges_per_network",
            self.max_challenges_per_network,
            1,
            10_000_000,
        )?;
        check_range(
            "limits.challenge_lifetime",
            self.challenge_lifetime,
            s(1),
            s(3600),
        )?;
        check_range(
            "limits.challenge_prune_interval",
            self.challenge_prune_interval,
            s(1),
            s(3600),
        )
    }
}
