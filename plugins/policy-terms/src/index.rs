//! Phrases indexed for matching: each phrase is an [`Item`] linked into a
//! hash table by the key of its first word (see `key`); phrases whose first
//! word is a number condition are listed apart.
//!
//! The build script includes this module too: it indexes the built-in
//! phrases with [`Index::new`] and writes the result out as statics, so a
//! call only indexes the operator's phrases (usually none).

use std::borrow::Cow;

use crate::category::Category;
use crate::key::first_word_key;

/// No entry.
pub(crate) const NIL: u32 = u32::MAX;

/// What a phrase does when it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// A term adding its weight to its category.
    Term(f64),
    /// A phrase of group `group` of combination `combo`.
    Combo { combo: u32, group: u8 },
    /// An exception: its words are taken out for its category.
    Allow,
}

/// One phrase.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The normalised phrase: words separated by single spaces, a word
    /// ending in `*` a prefix, a word starting with `#` a number condition.
    pub phrase: Cow<'static, str>,
    pub category: Category,
    pub role: Role,
    /// The index key of its first word.
    pub key: u64,
    /// The next item in the same table bucket.
    pub next: u32,
}

impl Item {
    /// An item not yet linked into a table.
    pub fn new(phrase: Cow<'static, str>, category: Category, role: Role) -> Self {
        Self {
            key: first_word_key(&phrase),
            phrase,
            category,
            role,
            next: NIL,
        }
    }
}

/// A combination: it matches when a phrase of each of its groups does.
#[derive(Debug, Clone)]
pub(crate) struct Combo {
    /// A name for the audit log.
    pub name: Cow<'static, str>,
    pub category: Category,
    pub groups: u8,
    pub weight: f64,
}

/// Items in a hash table by the key of their first word.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub(crate) items: Cow<'static, [Item]>,
    /// Heads of the buckets (item indices, or [`NIL`]); a power of two
    /// long, or empty when there are no items.
    pub(crate) heads: Cow<'static, [u32]>,
    /// Items whose first word is a number condition, in order.
    pub(crate) numeric: Cow<'static, [u32]>,
}

impl Index {
    /// No items.
    pub const EMPTY: Self = Self {
        items: Cow::Borrowed(&[]),
        heads: Cow::Borrowed(&[]),
        numeric: Cow::Borrowed(&[]),
    };

    /// A table built by the build script.
    pub const fn of_static(
        items: &'static [Item],
        heads: &'static [u32],
        numeric: &'static [u32],
    ) -> Self {
        Self {
            items: Cow::Borrowed(items),
            heads: Cow::Borrowed(heads),
            numeric: Cow::Borrowed(numeric),
        }
    }

    /// Links `items` into a table.
    pub fn new(mut items: Vec<Item>) -> Self {
        if items.is_empty() {
            return Self::EMPTY;
        }
        let size = (items.len() * 2).next_power_of_two().max(64);
        let mut heads = vec![NIL; size];
        let mut numeric = Vec::new();
        // Backwards, so that every bucket lists its items in order.
        for (i, item) in items.iter_mut().enumerate().rev() {
            if item.phrase.starts_with('#') {
                numeric.push(i as u32);
                continue;
            }
            let bucket = &mut heads[(item.key as usize) & (size - 1)];
            item.next = *bucket;
            *bucket = i as u32;
        }
        numeric.reverse();
        Self {
            items: Cow::Owned(items),
            heads: Cow::Owned(heads),
            numeric: Cow::Owned(numeric),
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The items whose first word has `key`, in order, with their indices.
    pub fn with_key(&self, key: u64) -> impl Iterator<Item = (u32, &Item)> {
        let mut at = match self.heads.len() {
            0 => NIL,
            n => self.heads[key as usize & (n - 1)],
        };
        std::iter::from_fn(move || {
            while at != NIL {
                let (id, item) = (at, &self.items[at as usize]);
                at = item.next;
                if item.key == key {
                    return Some((id, item));
                }
            }
            None
        })
    }

    /// The items whose first word is a number condition, in order, with
    /// their indices.
    pub fn numeric(&self) -> impl Iterator<Item = (u32, &Item)> {
        self.numeric
            .iter()
            .map(|&at| (at, &self.items[at as usize]))
    }

    /// The index of the first item of `category` with `phrase` for which
    /// `role` holds.
    pub fn find(
        &self,
        phrase: &str,
        category: Category,
        role: impl Fn(Role) -> bool,
    ) -> Option<u32> {
        let wanted =
            |item: &Item| item.category == category && role(item.role) && item.phrase == phrase;
        if phrase.starts_with('#') {
            self.numeric()
                .find(|(_, item)| wanted(item))
                .map(|(id, _)| id)
        } else {
            self.with_key(first_word_key(phrase))
                .find(|(_, item)| wanted(item))
                .map(|(id, _)| id)
        }
    }
}
