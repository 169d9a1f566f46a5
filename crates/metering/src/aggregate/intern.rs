//! Tenant and user names as dense ids. Each shard numbers the names it reads; the merge maps
//! those ids to one numbering.

use std::collections::HashMap;

/// Strings to dense ids; id 0 is reserved for "none".
#[derive(Default)]
pub(super) struct Interner {
    ids: HashMap<String, u32, foldhash::fast::FixedState>,
    names: Vec<String>,
}

impl Interner {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        self.names.push(name.to_string());
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        self.ids.insert(name.to_string(), id);
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize - 1]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// This interner's id of each of `other`'s ids (index 0, "none", stays 0).
    pub fn ids_of(&mut self, other: &Interner) -> Vec<u32> {
        std::iter::once(0)
            .chain(other.names.iter().map(|name| self.id(name)))
            .collect()
    }
}
