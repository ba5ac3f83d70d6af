//! Passwords: the rules a new one must meet, and Argon2id.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`),
//! which carry their own parameters: a hash made under older parameters
//! still verifies, and is replaced at the next successful login
//! ([`needs_rehash`]). The hashing itself is CPU- and memory-bound work of
//! tens of milliseconds, which the service runs on tokio's blocking threads,
//! never on the async ones (see `People::hash`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The fewest characters a password may have.
pub const MIN_CHARS: usize = 10;

/// The most characters a password may have. Argon2 first digests its input
/// with BLAKE2b, so a long password costs little more to hash, but a bound
/// keeps the request and the work it can ask for small and known.
pub const MAX_CHARS: usize = 128;

/// Argon2id's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Cost {
    /// OWASP's first recommendation for Argon2id (Password Storage Cheat
    /// Sheet): 19 MiB, 2 passes, 1 lane. See docs/people.md for the time it
    /// takes.
    pub const OWASP: Cost = Cost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// The smallest cost Argon2 accepts, for tests that hash many passwords
    /// (never for real ones).
    #[cfg(test)]
    pub const TEST: Cost = Cost {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .expect("the costs are within Argon2's bounds");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Fewer than [`MIN_CHARS`] characters.
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    TooLong,
    /// The email address (or its part before the `@`), in any case.
    IsEmail,
}

/// Checks a new password against the rules, for the login with (the
/// normalised) `email`.
pub fn check(password: &str, email: &str) -> Result<(), Weakness> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(Weakness::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(Weakness::TooLong);
    }
    let lowered = password.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or(email);
    if lowered == email || lowered == local {
        return Err(Weakness::IsEmail);
    }
    Ok(())
}

/// The Argon2id PHC string of `password`, with a new random 128-bit salt.
pub fn hash(password: &str, cost: Cost) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    cost.argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing a bounded password with valid parameters cannot fail")
        .to_string()
}

/// Whether `password` is the one `phc` was made from (under the parameters
/// `phc` names). A malformed `phc` matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The verifier takes the algorithm, version and parameters from the
    // hash; the comparison is in constant time.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether `phc` was made otherwise than Argon2id at `cost` (and should be
/// replaced once the password is known again).
pub fn needs_rehash(phc: &str, cost: Cost) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(p) => {
            (p.m_cost(), p.t_cost(), p.p_cost())
                != (cost.memory_kib, cost.iterations, cost.parallelism)
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::{Cost, Weakness, check, hash, needs_rehash, verify};

    #[test]
    fn the_rules_refuse_short_long_and_email_passwords() {
        let email = "ada@example.com";
        assert_eq!(check("short", email), Err(Weakness::TooShort));
        assert_eq!(check("nine char", email), Err(Weakness::TooShort));
        assert_eq!(check("ten chars!", email), Ok(()));
        assert_eq!(check(&"x".repeat(128), email), Ok(()));
        assert_eq!(check(&"x".repeat(129), email), Err(Weakness::TooLong));
        // Characters, not bytes: ten accented letters are enough.
        assert_eq!(check("éééééééééé", email), Ok(()));
        assert_eq!(check("ADA@example.COM", email), Err(Weakness::IsEmail));
        assert_eq!(
            check("adaadaadaada", "adaadaadaada@example.com"),
            Err(Weakness::IsEmail)
        );
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery", Cost::TEST);
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a hash"));
        let again = hash("correct horse battery", Cost::TEST);
        assert_ne!(phc, again, "each hash has its own salt");
    }

    #[test]
    fn a_hash_under_other_parameters_still_verifies_and_asks_to_be_redone() {
        let old = hash("correct horse battery", Cost::TEST);
        let stronger = Cost {
            memory_kib: 64,
            ..Cost::TEST
        };
        assert!(verify("correct horse battery", &old));
        assert!(needs_rehash(&old, stronger));
        assert!(!needs_rehash(&old, Cost::TEST));
        assert!(needs_rehash("$2b$12$somebcrypthash", Cost::TEST));
    }

    /// How long one hash takes at [`Cost::OWASP`] on this machine, to choose
    /// the parameters (docs/people.md): run with `cargo test --release -p
    /// imini --lib people::password -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn measure_the_owasp_cost() {
        let runs = 20;
        let _ = hash("warm up the allocator", Cost::OWASP);
        let mut times: Vec<f64> = (0..runs)
            .map(|i| {
                let started = std::time::Instant::now();
                let phc = hash(&format!("a password of run {i}"), Cost::OWASP);
                let hashed = started.elapsed().as_secs_f64() * 1000.0;
                let started = std::time::Instant::now();
                assert!(verify(&format!("a password of run {i}"), &phc));
                let verified = started.elapsed().as_secs_f64() * 1000.0;
                eprintln!("run {i}: hash {hashed:.1} ms, verify {verified:.1} ms");
                hashed
            })
            .collect();
        times.sort_by(f64::total_cmp);
        eprintln!(
            "Argon2id m={} KiB t={} p={}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {runs} hashes",
            Cost::OWASP.memory_kib,
            Cost::OWASP.iterations,
            Cost::OWASP.parallelism,
            times[runs / 2],
            times[0],
            times[runs - 1]
        );
    }
}
