//! Tenants and their users: who makes each request.

use crate::dice::Dice;

const MAX_USERS: u64 = 50;
const UNASSIGNED_USERS: u32 = 20;

/// A user's stable identity.
pub struct User {
    pub sub: [u8; 36],
    /// Where the user's requests usually come from.
    pub ip: Vec<u8>,
}

/// Tenants (index 0: no tenant) and their users.
pub struct Population {
    /// Cumulative Zipf weights of tenants 1..=T, in tenant order.
    cumulative: Vec<u64>,
    /// Users of tenant `k` are `users[first_user[k]..first_user[k + 1]]`.
    first_user: Vec<usize>,
    users: Vec<User>,
}

impl Population {
    pub fn new(tenants: u32, dice: &mut Dice) -> Population {
        let t = tenants as usize;
        // Ranks 1..=T shuffled over the tenants (Fisher–Yates), weight 1/rank.
        let mut ranks: Vec<u64> = (1..=u64::from(tenants)).collect();
        for i in (1..t).rev() {
            let j = dice.below(i as u64 + 1) as usize;
            ranks.swap(i, j);
        }
        let mut cumulative = Vec::with_capacity(t);
        let mut sum = 0u64;
        for rank in &ranks {
            sum += 1_000_000_000 / rank;
            cumulative.push(sum);
        }
        let mut first_user = Vec::with_capacity(t + 2);
        let mut users = Vec::new();
        for k in 0..=t {
            first_user.push(users.len());
            let count = if k == 0 {
                u64::from(UNASSIGNED_USERS)
            } else {
                let r = dice.below(MAX_USERS);
                1 + r * r / (MAX_USERS - 1)
            };
            for _ in 0..count {
                let sub = dice.uuid();
                let mut ip = Vec::new();
                dice.ip(&mut ip);
                users.push(User { sub, ip });
            }
        }
        first_user.push(users.len());
        Population {
            cumulative,
            first_user,
            users,
        }
    }

    /// A tenant 1..=T, by weight.
    pub fn draw_tenant(&self, dice: &mut Dice) -> usize {
        let total = *self.cumulative.last().expect("at least one tenant");
        let x = dice.below(total);
        1 + self.cumulative.partition_point(|c| *c <= x)
    }

    /// A global user index of tenant `k`, the first users more active than the last.
    pub fn draw_user(&self, k: usize, dice: &mut Dice) -> usize {
        let n = (self.first_user[k + 1] - self.first_user[k]) as u64;
        let j = dice.below(n);
        self.first_user[k] + dice.below(j + 1) as usize
    }

    /// Users of every tenant: global user indexes are `0..users()`.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    pub fn user(&self, u: usize) -> &User {
        &self.users[u]
    }

    /// The number of user `u` among tenant `k`'s, from 1 (the `UUUU` of `user-TTTT-UUUU`).
    pub fn number(&self, k: usize, u: usize) -> u64 {
        (u - self.first_user[k] + 1) as u64
    }
}
