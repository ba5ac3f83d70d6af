//! The built-in rules (`defaults`), normalised and indexed by the build
//! script: [`INDEX`], the phrases, and [`COMBOS`], the combinations their
//! `Role::Combo` numbers refer to.

use std::borrow::Cow;

use crate::category::Category;
use crate::index::{Combo, Index, Item, NIL, Role};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
