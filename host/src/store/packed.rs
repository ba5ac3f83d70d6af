//! Records stored compressed, for the tables a generation writes (tasks,
//! the open tasks, the ledger, file records): read in every database, and
//! written only in fjall databases created before the store compressed
//! every table file (see `Store::packed_table`); a database created since
//! stores JSON, which fjall's lz4 compresses block by block for less CPU.
//!
//! Each such record is its JSON compressed with zstd against a dictionary
//! of records of the same shapes (`packed/records-1.dict`: JSON lines of a
//! task, ledger entries, a file record and an open task's record). A record
//! of a few hundred bytes has too little in it to compress well on its own;
//! with the dictionary, its field names and common values cost almost
//! nothing, which leaves mostly its ids. Compressing a record once, as it is
//! written, costs a few microseconds; sled's page compression
//! (`[store] compression`) instead compresses a whole page of records each
//! time sled rewrites it.
//!
//! A packed value starts with a byte naming its format, [`ZSTD_RECORDS_1`],
//! which no JSON text starts with; anything else is read as JSON. So data
//! directories written before keep every record readable, records are
//! packed as they are next written, and nothing is converted at start. A
//! new dictionary would get a new format byte, and this one would stay to
//! read what it wrote: the dictionary's bytes can never change (a test
//! pins them).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use zstd::zstd_safe::{self, CCtx, CDict, DCtx, DDict};

/// The format byte of a record compressed with zstd against
/// [`DICTIONARY_1`] (a JSON text never starts with a control character).
pub const ZSTD_RECORDS_1: u8 = 0x01;

/// The dictionary of format [`ZSTD_RECORDS_1`]: used as zstd's "raw
/// content" dictionary (earlier input that a record may refer to).
const DICTIONARY_1: &[u8] = include_bytes!("packed/records-1.dict");

/// zstd's level, its default: on the task record of the tests it writes
/// about 180 bytes (of 883), against 200 at level 1 and 160 at level 19.
/// On records this small, level 1 was no faster (the gateway bench's
/// `micro` section: a 1 KB record written packed in 7 µs at either level,
/// against 3 µs as JSON).
const LEVEL: i32 = 3;

/// The largest record unpacked (a sanity bound against a corrupt length).
const MAX_RECORD: u64 = 64 << 20;

static COMPRESS_1: LazyLock<CDict<'static>> =
    LazyLock::new(|| zstd_safe::create_cdict(DICTIONARY_1, LEVEL));
static DECOMPRESS_1: LazyLock<DDict<'static>> = LazyLock::new(|| DDict::create(DICTIONARY_1));

thread_local! {
    static CCTX: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DCTX: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// A packed record that cannot be unpacked.
#[derive(Debug, thiserror::Error)]
#[error("a packed record cannot be unpacked: {0}")]
pub struct Unpack(String);

/// `json` packed: the format byte, then its zstd frame.
pub fn pack(json: &[u8]) -> Vec<u8> {
    // One buffer: the bound leaves room for the format byte in front of a
    // frame a fraction of the record's size.
    let mut out = Vec::with_capacity(1 + zstd_safe::compress_bound(json.len()));
    CCTX.with_borrow_mut(|cctx| cctx.compress_using_cdict(&mut out, json, &COMPRESS_1))
        // Into a buffer of zstd's bound, compressing cannot fail.
        .expect("zstd compresses into a buffer of its bound");
    out.insert(0, ZSTD_RECORDS_1);
    out
}

/// The JSON of a stored value: unpacked if packed, else the value itself.
pub fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, Unpack> {
    match stored.first() {
        Some(&ZSTD_RECORDS_1) => {
            let frame = &stored[1..];
            let size = zstd_safe::get_frame_content_size(frame);
            if size > MAX_RECORD {
                return Err(Unpack(format!("a frame of size {size}")));
            }
            let mut json = Vec::with_capacity(size as usize);
            DCTX.with_borrow_mut(|dctx| {
                dctx.decompress_using_ddict(&mut json, frame, &DECOMPRESS_1)
            })
            .map_err(|code| Unpack(zstd_safe::get_error_name(code).to_string()))?;
            Ok(Cow::Owned(json))
        }
        _ => Ok(Cow::Borrowed(stored)),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::{DICTIONARY_1, ZSTD_RECORDS_1, pack, unpack};

    /// A finished task's record as the gateway writes it.
    const TASK: &str = r#"{"id":"task_01a2b3c4d5e67f00112233445566778a","owner":"acct_01a2b3c4d5e67f00112233445566778b","kind":"image","model":"openai/gpt-image-1","status":"succeeded","progress":100,"request_id":"req_01a2b3c4d5e67f00112233445566778c","created_at":"2027-03-01T09:15:02Z","completed_at":"2027-03-01T09:15:04Z","request":{"prompt":"a lighthouse on a cliff at night, oil painting","n":1,"width":1024,"height":1024},"outputs":[{"file_id":"file_01a2b3c4d5e67f00112233445566778d","mime":"image/png","width":1024,"height":1024}],"target":"openai/gpt-image-1","key_id":"key_01a2b3c4d5e67f00112233445566778e","hold":{"task_id":"task_01a2b3c4d5e67f00112233445566778a","account_id":"acct_01a2b3c4d5e67f00112233445566778b","amount":40,"status":"captured","key_id":"key_01a2b3c4d5e67f00112233445566778e","entry_id":"le_01a2b3c4d5e67f00112233445566778f","settled_by":"le_01a2b3c4d5e67f001122334455667790"}}"#;

    /// A ledger entry as the gateway writes it.
    const ENTRY: &str = r#"{"id":"le_01a2b3c4d5e67f00112233445566778f","account_id":"acct_01a2b3c4d5e67f00112233445566778b","type":"hold","amount":0,"held_change":40,"balance_after":73120,"held_after":80,"task_id":"task_01a2b3c4d5e67f00112233445566778a","actor":"key_01a2b3c4d5e67f00112233445566778e","reason":null,"created_at":"2027-03-01T09:15:02Z"}"#;

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let long = format!("\"{}\"", "x".repeat(100_000));
        for json in [TASK, ENTRY, "null", "{}", "\"a\"", &long] {
            let packed = pack(json.as_bytes());
            assert_eq!(packed[0], ZSTD_RECORDS_1);
            assert_eq!(unpack(&packed).unwrap().as_ref(), json.as_bytes());
        }
    }

    #[test]
    fn records_written_as_json_still_read() {
        let json = TASK.as_bytes();
        let read = unpack(json).unwrap();
        assert!(matches!(read, std::borrow::Cow::Borrowed(_)));
        assert_eq!(read.as_ref(), json);
    }

    #[test]
    fn records_pack_to_a_fraction_of_their_json() {
        // What packing is for: a task takes less than a quarter of its
        // JSON and an entry less than 40% (most of what is left is their
        // ids).
        for (json, percent) in [(TASK, 25), (ENTRY, 40)] {
            let packed = pack(json.as_bytes());
            assert!(
                packed.len() * 100 < json.len() * percent,
                "{} bytes packed from {}",
                packed.len(),
                json.len()
            );
        }
    }

    #[test]
    fn a_damaged_record_is_an_error() {
        let mut packed = pack(TASK.as_bytes());
        packed.truncate(packed.len() / 2);
        assert!(unpack(&packed).is_err());
        assert!(unpack(&[ZSTD_RECORDS_1, 0, 1, 2, 3]).is_err());
    }

    #[test]
    fn the_dictionary_never_changes() {
        // Every record packed with format 1 needs these exact bytes to be
        // read: a new dictionary needs a new format byte instead.
        assert_eq!(
            crate::ids::hex(&Sha256::digest(DICTIONARY_1)),
            "0a9c35d1ef42ae583d6ec8a6b7720f1ff5604c15217d8f95239a30204ebc5396"
        );
    }
}
