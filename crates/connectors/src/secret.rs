//! Secrets at rest (CRM tokens): sealed with XChaCha20-Poly1305 under a 32-byte key from
//! `KPI_ARENA_SECRET_KEY` (64 hex digits, or base64). A sealed value is its 24-byte random
//! nonce followed by the ciphertext; opening it under another key fails, never yields garbage.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// The environment variable holding the key.
pub const KEY_VAR: &str = "KPI_ARENA_SECRET_KEY";

#[derive(Clone)]
pub struct Keyring {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{KEY_VAR} is not set: set it to 32 random bytes (64 hex digits, e.g. `openssl rand -hex 32`) to store CRM tokens")]
    Missing,
    #[error("{KEY_VAR} must be 32 bytes written as 64 hex digits or base64; it is {0} bytes")]
    WrongLength(usize),
    #[error("{KEY_VAR} is neither hex nor base64")]
    NotKey,
    #[error("a stored secret cannot be opened with this {KEY_VAR} (the key changed, or the value is damaged)")]
    CannotOpen,
}

impl Keyring {
    /// The key from the environment.
    pub fn from_env() -> Result<Keyring, KeyError> {
        match std::env::var(KEY_VAR) {
            Ok(text) if !text.trim().is_empty() => Keyring::parse(&text),
            _ => Err(KeyError::Missing),
        }
    }

    /// A key written as 64 hex digits or as base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Keyring, KeyError> {
        let text = text.trim();
        let bytes = match hex::decode(text) {
            Ok(bytes) => bytes,
            Err(_) => base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| KeyError::NotKey)?,
        };
        if bytes.len() != 32 {
            return Err(KeyError::WrongLength(bytes.len()));
        }
        Ok(Keyring {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| KeyError::WrongLength(bytes.len()))?,
        })
    }

    /// A new random key, as 64 hex digits (for a first start that has none).
    pub fn generate() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(XNonce::from_slice(&nonce), plain.as_bytes()).expect("sealing never fails");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    /// `plain` sealed as text a browser may hold without reading it: `sealed:` and hex. Sealed
    /// with a mark of its own, so that `open_text` opens only these, never a stored secret.
    pub fn seal_text(&self, plain: &str) -> String {
        format!("{SEALED}{}", hex::encode(self.seal(&format!("{FOR_BROWSER}{plain}"))))
    }

    /// A `seal_text` opened; any other text is returned as it is (a token typed in).
    pub fn open_text(&self, text: &str) -> Result<String, KeyError> {
        match text.trim().strip_prefix(SEALED) {
            Some(sealed) => self
                .open(&hex::decode(sealed).map_err(|_| KeyError::CannotOpen)?)?
                .strip_prefix(FOR_BROWSER)
                .map(str::to_string)
                .ok_or(KeyError::CannotOpen),
            None => Ok(text.to_string()),
        }
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, KeyError> {
        if sealed.len() < 24 {
            return Err(KeyError::CannotOpen);
        }
        let (nonce, text) = sealed.split_at(24);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), text).map_err(|_| KeyError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| KeyError::CannotOpen)
    }
}

/// What `Keyring::seal_text` puts first.
const SEALED: &str = "sealed:";
/// What a `seal_text` holds before its text (no stored secret starts so).
const FOR_BROWSER: &str = "kpi-arena/for-the-browser\n";

/// Shows only a secret's last four characters.
pub fn masked(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("••••{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_under_its_key_only() {
        let key = Keyring::parse(&"ab".repeat(32)).unwrap();
        let other = Keyring::parse(&"cd".repeat(32)).unwrap();
        let sealed = key.seal("token-123");
        assert!(!sealed.windows(9).any(|w| w == b"token-123"), "the token is not readable at rest");
        assert_eq!(key.open(&sealed).unwrap(), "token-123");
        assert_eq!(other.open(&sealed), Err(KeyError::CannotOpen));
        assert_ne!(key.seal("token-123"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn keys_are_hex_or_base64_of_32_bytes() {
        assert!(Keyring::parse(&"0f".repeat(32)).is_ok());
        assert!(Keyring::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).is_ok());
        assert_eq!(Keyring::parse("abcd").unwrap_err(), KeyError::WrongLength(2));
        assert_eq!(Keyring::parse("not a key!").unwrap_err(), KeyError::NotKey);
        assert_eq!(masked("secret-token-9f3a"), "••••9f3a");
    }
}
