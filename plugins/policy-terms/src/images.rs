//! Matching images against the operator's blocklist of perceptual hashes.

use imini_sdk::imaging;

use crate::rules::{BlockedImage, Rules};

/// An image that matched a blocklist entry.
#[derive(Debug, Clone)]
pub struct ImageMatch {
    /// The image's dHash.
    pub hash: u64,
    /// How many bits it differs from the entry's hash.
    pub distance: u32,
    /// The entry.
    pub entry: BlockedImage,
    /// The largest distance that matches.
    pub max_distance: u32,
}

impl ImageMatch {
    /// The audit-log reason, naming what was checked (e.g. "reference image 1").
    pub fn reason(&self, what: &str) -> String {
        format!(
            "{what}: image hash {} within {} of blocklist entry \"{}\" (max distance {})",
            imaging::hash_hex(self.hash),
            self.distance,
            self.entry.label,
            self.max_distance
        )
    }
}

/// The closest blocklist entry within the allowed distance of the image in
/// `bytes`, if any. Formats that cannot be decoded are not matched.
pub fn check(rules: &Rules, bytes: &[u8]) -> Option<ImageMatch> {
    if rules.blocklist.is_empty() {
        return None;
    }
    let hash = imaging::dhash(bytes)?;
    rules
        .blocklist
        .iter()
        .map(|e| (imaging::hamming(hash, e.hash), e))
        .filter(|(d, _)| *d <= rules.hash_max_distance)
        .min_by_key(|(d, _)| *d)
        .map(|(distance, entry)| ImageMatch {
            hash,
            distance,
            entry: entry.clone(),
            max_distance: rules.hash_max_distance,
        })
}
