//! What the API's traffic is like: its daily rhythm, who calls, which routes, how they answer.

use crate::dice::{Dice, PPM};

// Rates in parts per million.
pub const UNAUTHENTICATED_PPM: u64 = 5_000;
pub const NO_TENANT_PPM: u64 = 10_000;
pub const DUPLICATE_PPM: u64 = 5_000;
pub const MALFORMED_PPM: u64 = 10;
/// Requests of a user that come from elsewhere than the user's usual address.
pub const ROAMING_PPM: u64 = 100_000;

pub const PROTOCOL: &str = "HTTP/1.1";

/// Relative traffic per hour of the day, UTC.
pub const HOUR_OF_DAY: [u64; 24] = [
    22, 18, 15, 14, 14, 16, 22, 35, 55, 75, 88, 95, 100, 98, 95, 96, 94, 90, 80, 68, 55, 45, 35, 28,
];

/// (method, resource path, weight in ppm).
const ROUTES: [(&str, &str, u64); 8] = [
    ("GET", "/random/strings", 400_000),
    ("GET", "/random/numbers", 250_000),
    ("GET", "/items", 120_000),
    ("POST", "/items", 60_000),
    ("GET", "/items/{id}", 90_000),
    ("PUT", "/items/{id}", 30_000),
    ("DELETE", "/items/{id}", 20_000),
    ("GET", "/health", 30_000),
];

/// (error status, weight in ppm, weight in ppm for `/items/{id}`).
const ERRORS: [(u16, u64, u64); 7] = [
    (400, 8_000, 8_000),
    (403, 3_000, 3_000),
    (404, 4_000, 50_000),
    (429, 7_000, 7_000),
    (500, 2_000, 2_000),
    (502, 1_000, 1_000),
    (503, 2_000, 2_000),
];

/// Lines a misconfigured or failing writer could leave in a log.
pub const NOT_JSON: [&str; 4] = [
    "Internal Server Error",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "203.0.113.7 - - [01/Oct/2026:00:00:00 +0000] \"GET /random/strings HTTP/1.1\" 200 1234",
    "requestId=unknown status=500 message=\"Execution failed due to configuration error\"",
];

/// A request's route and its response.
pub struct Call {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
    /// The response's length in bytes.
    pub length: u64,
}

/// Draws the route of a request and its response: 401 when not `authenticated`.
pub fn call(dice: &mut Dice, authenticated: bool) -> Call {
    let mut x = dice.below(PPM);
    let (mut method, mut path) = (ROUTES[0].0, ROUTES[0].1);
    for (m, p, weight) in ROUTES {
        if x < weight {
            (method, path) = (m, p);
            break;
        }
        x -= weight;
    }
    let status: u16 = if !authenticated {
        401
    } else if path == "/health" {
        200
    } else {
        let by_id = path == "/items/{id}";
        let mut x = dice.below(PPM);
        let error = ERRORS.iter().find(|(_, weight, id_weight)| {
            let w = if by_id { *id_weight } else { *weight };
            let hit = x < w;
            x = x.saturating_sub(w);
            hit
        });
        match (error, method) {
            (Some((status, _, _)), _) => *status,
            (None, "POST") => 201,
            (None, "DELETE") => 204,
            (None, _) => 200,
        }
    };
    let length = match status {
        204 => 0,
        401 => 26,
        200 | 201 => match path {
            "/health" => 15,
            "/random/strings" => dice.skewed(64, 102_400),
            "/random/numbers" => dice.skewed(16, 8_192),
            "/items" if method == "GET" => dice.skewed(2, 65_536),
            _ => dice.between(60, 900),
        },
        _ => dice.between(20, 160),
    };
    Call {
        method,
        path,
        status,
        length,
    }
}
