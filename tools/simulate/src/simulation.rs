//! The month, request by request in time order: who calls when, where each record lands.

use crate::buffers::{Buffers, Destination, Kind, Sink, FILE_SPAN_MS};
use crate::dice::{Dice, PPM};
use crate::events::Events;
use crate::population::Population;
use crate::record::Record;
use crate::traffic::{
    self, DUPLICATE_PPM, MALFORMED_PPM, NOT_JSON, NO_TENANT_PPM, ROAMING_PPM, UNAUTHENTICATED_PPM,
};
use crate::{
    SimulateOptions, SimulateSummary, TenantTruth, HOUR_MS, LATE_OBJECT_HOUR, LATE_ONLY_HOUR,
    MINUTE_MS, PREVIOUS_MONTH_RECORDS,
};
use anyhow::Result;
use chrono::{Datelike, NaiveDate, Weekday};
use std::path::PathBuf;

const MIN_DELAY_MS: u64 = 100;
const MAX_DELAY_MS: u64 = 300_000;
/// How late a retried copy may come after the original (capped at the end of the hour after
/// the request's hour).
const MAX_RETRY_MS: u64 = 900_000;
/// The records of [`LATE_OBJECT_HOUR`] arriving in its last this many milliseconds go to a
/// second, later object of its folder.
const LATE_OBJECT_MS: i64 = 15 * MINUTE_MS;

/// The start of `(day, hour)` of `month`, in epoch milliseconds.
fn hour_of_month(month: metering::Month, (day, hour): (u32, u32)) -> i64 {
    NaiveDate::from_ymd_opt(month.year(), month.month(), day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .expect("days 1 to 28 exist in every month")
        .and_utc()
        .timestamp_millis()
}

pub struct Simulation<'a> {
    options: &'a SimulateOptions,
    dice: Dice,
    population: Population,
    buffers: Buffers,
    /// Per tenant index (0: no tenant).
    truth: Vec<TenantTruth>,
    /// Per global user index: made a request.
    seen: Vec<bool>,
    line: Vec<u8>,
    broken: Vec<u8>,
    /// The source address of a request that does not come from its user's usual one.
    roaming_ip: Vec<u8>,
    /// Index of the next request in time order.
    index: u64,
    /// The month's first minute goes to the buffer that straddles its start.
    straddling: bool,
    /// The starts of [`LATE_OBJECT_HOUR`] and [`LATE_ONLY_HOUR`] in the month (epoch ms).
    late_object_hour: i64,
    late_only_hour: i64,
    previous_month_lines: u64,
    /// The next tenant given a request of its own (when `requests >= tenants`).
    next_forced: u64,
    duplicates: u64,
    malformed: u64,
    /// The backend's usage events, when written.
    events: Option<Events>,
}

impl<'a> Simulation<'a> {
    /// Writes into `root`, the folder `options.folder` of the output, and the usage events
    /// into `events_root`, the folder `options.events_folder`.
    pub fn new(
        options: &'a SimulateOptions,
        root: PathBuf,
        events_root: Option<PathBuf>,
    ) -> Simulation<'a> {
        let mut dice = Dice::new(options.seed, 0);
        let population = Population::new(options.tenants, &mut dice);
        let users = population.users();
        Simulation {
            options,
            dice,
            population,
            buffers: Buffers::new(Sink::new(
                root,
                &options.folder,
                &options.stream_name,
                options.gzip,
                Dice::new(options.seed, 1),
            )),
            truth: vec![TenantTruth::default(); options.tenants as usize + 1],
            seen: vec![false; users],
            line: Vec::with_capacity(512),
            broken: Vec::with_capacity(512),
            roaming_ip: Vec::with_capacity(64),
            index: 0,
            straddling: false,
            late_object_hour: hour_of_month(options.month, LATE_OBJECT_HOUR),
            late_only_hour: hour_of_month(options.month, LATE_ONLY_HOUR),
            previous_month_lines: 0,
            next_forced: 0,
            duplicates: 0,
            malformed: 0,
            events: options
                .events_folder
                .as_deref()
                .zip(events_root)
                .map(|(folder, root)| {
                    let stream = format!("{}-events", options.stream_name);
                    Events::new(options, root, folder, &stream)
                }),
        }
    }

    /// Relative traffic of each hour of the month.
    fn hour_weights(&mut self) -> Vec<u64> {
        let month = self.options.month;
        let first = NaiveDate::from_ymd_opt(month.year(), month.month(), 1).expect("a month");
        let hours = (month.end_ms() - month.start_ms()) / HOUR_MS;
        let mut weights = Vec::with_capacity(hours as usize);
        for day in first.iter_days().take((hours / 24) as usize) {
            let weekday = match day.weekday() {
                Weekday::Sat => 65,
                Weekday::Sun => 60,
                _ => 100,
            };
            let day_noise = self.dice.between(85, 115);
            for of_day in traffic::HOUR_OF_DAY {
                weights.push(of_day * weekday * day_noise * self.dice.between(90, 110));
            }
        }
        weights
    }

    pub fn run(&mut self) -> Result<()> {
        let n = self.options.requests;
        let start = self.options.month.start_ms();
        let weights = self.hour_weights();
        let minutes = weights.len() as i64 * 60;
        // The requests at 00:00:00.000 and 23:59:59.999 are placed by hand, the others by
        // weight: minute m gets floor(k·C(m)/W) − floor(k·C(m−1)/W), exactly k in all.
        let fixed = n.min(2);
        let spread = u128::from(n - fixed);
        let total: u128 = weights.iter().map(|w| u128::from(*w) * 60).sum();
        let mut cumulative = 0u128;
        let mut placed = 0u64;
        let mut offsets: Vec<u64> = Vec::new();
        if n >= 2 {
            self.previous_month_tail()?;
        }
        for minute in 0..minutes {
            cumulative += u128::from(weights[(minute / 60) as usize]);
            let upto = (spread * cumulative / total) as u64;
            offsets.clear();
            for _ in placed..upto {
                offsets.push(self.dice.below(MINUTE_MS as u64));
            }
            placed = upto;
            if minute == 0 && n >= 2 {
                offsets.push(0);
            }
            if minute == minutes - 1 && n >= 1 {
                offsets.push(MINUTE_MS as u64 - 1);
            }
            offsets.sort_unstable();
            for offset in &offsets {
                self.request(start + minute * MINUTE_MS + *offset as i64)?;
            }
        }
        self.buffers.close_before(i64::MAX)?;
        if let Some(events) = &mut self.events {
            events.close_before(i64::MAX)?;
        }
        Ok(())
    }

    /// The records of the previous month's last minutes that open the buffer straddling the
    /// month's start: written there, counted apart, not part of the month's truth.
    fn previous_month_tail(&mut self) -> Result<()> {
        let start = self.options.month.start_ms();
        let straddle = self.straddling_buffer();
        for i in 0..PREVIOUS_MONTH_RECORDS as i64 {
            // 23:56, 23:57, …: one a minute, the last before 23:58.
            let time =
                start - 4 * MINUTE_MS + i * MINUTE_MS + self.dice.below(MINUTE_MS as u64) as i64;
            self.compose(time, false);
            // Arrived before 23:58:30, in the previous month's last interval.
            let arrival = time + self.dice.skewed(MIN_DELAY_MS, 30_000) as i64;
            self.buffers.push(straddle, arrival, &self.line)?;
            self.previous_month_lines += 1;
        }
        self.straddling = true;
        Ok(())
    }

    /// The buffer of the previous month's last 5-minute interval, which straddles the month's
    /// start: open until the month's first minute is over.
    fn straddling_buffer(&self) -> Destination {
        let start = self.options.month.start_ms();
        Destination {
            key: ((start - 1).div_euclid(FILE_SPAN_MS), 0),
            closes_at: start + MINUTE_MS,
            kind: Kind::Straddling,
        }
    }

    /// Where a record arriving at `arrival` goes (but for the straddling buffer, which the
    /// caller chooses): a late object, or the buffer of its Firehose interval.
    fn destination(&self, arrival: i64) -> Destination {
        let late_object_end = self.late_object_hour + HOUR_MS;
        let late_object_start = late_object_end - LATE_OBJECT_MS;
        if (late_object_start..late_object_end).contains(&arrival) {
            return Destination {
                key: (late_object_start.div_euclid(FILE_SPAN_MS), 1),
                closes_at: late_object_end,
                kind: Kind::Late,
            };
        }
        let late_only = self.late_only_hour;
        if (late_only..late_only + HOUR_MS).contains(&arrival) {
            return Destination {
                key: (late_only.div_euclid(FILE_SPAN_MS), 1),
                closes_at: late_only + HOUR_MS,
                kind: Kind::Late,
            };
        }
        Destination::regular(arrival)
    }

    /// Generates, writes and counts the request made at `time` (in time order).
    fn request(&mut self, time: i64) -> Result<()> {
        self.buffers.close_before(time)?;
        if let Some(events) = &mut self.events {
            events.close_before(time)?;
        }
        let (tenant, user, status, length) = self.compose(time, true);
        let n = self.options.requests;

        // Where and how often it is written.
        let arrival = time + self.dice.skewed(MIN_DELAY_MS, MAX_DELAY_MS) as i64;
        // The month's first minute is in the buffer that the previous month's last records
        // opened; other records in their own interval's (or a late object).
        let to = if self.straddling && time < self.options.month.start_ms() + MINUTE_MS {
            self.straddling_buffer()
        } else {
            self.destination(arrival)
        };
        let dice = &mut self.dice;
        let line = &self.line;
        let malformed = if n >= 1000 && self.index == n / 2 {
            true
        } else {
            dice.ppm(MALFORMED_PPM)
        };
        if malformed {
            let broken = &mut self.broken;
            broken.clear();
            if dice.below(2) == 0 {
                // A write cut short (then retried whole): never valid JSON without its `}`.
                let cut = dice.between(1, line.len() as u64 - 3) as usize;
                broken.extend_from_slice(&line[..cut]);
            } else {
                broken.extend_from_slice(
                    NOT_JSON[dice.below(NOT_JSON.len() as u64) as usize].as_bytes(),
                );
            }
            broken.push(b'\n');
            self.buffers.push(to, arrival, broken)?;
            self.malformed += 1;
        }
        self.buffers.push(to, arrival, line)?;
        if dice.ppm(DUPLICATE_PPM) {
            // A retry: the same file, a later one, or the next hour's folder, never later than
            // the end of the hour after the request's.
            let latest = (time.div_euclid(HOUR_MS) + 2) * HOUR_MS - 1;
            let (again, to) = if dice.below(100) < 40 {
                (arrival, to)
            } else {
                let again = (arrival + dice.between(1_000, MAX_RETRY_MS) as i64).min(latest);
                (again, self.destination(again))
            };
            self.buffers.push(to, again, line)?;
            self.duplicates += 1;
        }

        // The truth.
        let truth = &mut self.truth[tenant];
        truth.requests += 1;
        truth.bytes += length;
        truth.status_2xx += u64::from((200..300).contains(&status));
        if let Some(u) = user {
            if !self.seen[u] {
                self.seen[u] = true;
                self.truth[tenant].subs += 1;
            }
        }
        // The backend's usage event, for a tenant's successful request.
        if let Some(events) = &mut self.events {
            if tenant != 0 && (200..300).contains(&status) {
                events.send(self.index, time, tenant)?;
            }
        }
        self.index += 1;
        Ok(())
    }

    /// Writes the record of a request made at `time` into `self.line`: its tenant (0: none),
    /// user, status and response length. `may_force`: the month's requests, which give
    /// every tenant one when `requests >= tenants`.
    fn compose(&mut self, time: i64, may_force: bool) -> (usize, Option<usize>, u16, u64) {
        let dice = &mut self.dice;
        let tenants = u64::from(self.options.tenants);
        let n = self.options.requests;

        // Who: a tenant's user, a user without a tenant, or nobody (401).
        let forced = may_force
            && n >= tenants
            && self.next_forced < tenants
            && u128::from(self.index)
                == u128::from(self.next_forced) * u128::from(n) / u128::from(tenants);
        let (tenant, user) = if forced {
            self.next_forced += 1;
            let k = self.next_forced as usize;
            (k, Some(self.population.draw_user(k, dice)))
        } else {
            let r = dice.below(PPM);
            if r < UNAUTHENTICATED_PPM {
                (0, None)
            } else if r < UNAUTHENTICATED_PPM + NO_TENANT_PPM {
                (0, Some(self.population.draw_user(0, dice)))
            } else {
                let k = self.population.draw_tenant(dice);
                (k, Some(self.population.draw_user(k, dice)))
            }
        };

        let call = traffic::call(dice, user.is_some());
        // Drawn before the line is written, so that the catalogue's field order changes the
        // order of the keys only, not the values.
        let request_id = dice.uuid();
        let ip: &[u8] = match user {
            Some(u) if !dice.ppm(ROAMING_PPM) => &self.population.user(u).ip,
            _ => {
                self.roaming_ip.clear();
                dice.ip(&mut self.roaming_ip);
                &self.roaming_ip
            }
        };
        let record = Record {
            request_id: &request_id,
            ip,
            user: user.map(|u| self.population.number(tenant, u)),
            request_time: time,
            http_method: call.method,
            resource_path: call.path,
            status: call.status,
            protocol: traffic::PROTOCOL,
            response_length: call.length,
            tenant: tenant as u64,
            sub: user.map(|u| &self.population.user(u).sub),
        };
        record.write_line(&mut self.line);
        (tenant, user, call.status, call.length)
    }

    /// What was written: the truth of the month.
    pub fn summary(&self) -> SimulateSummary {
        let tenants = self
            .truth
            .iter()
            .enumerate()
            .filter(|(_, t)| t.requests > 0)
            .map(|(k, t)| {
                let name = if k == 0 {
                    metering::UNASSIGNED.to_string()
                } else {
                    format!("tenant-{k:04}")
                };
                let mut t = t.clone();
                if let Some(events) = &self.events {
                    let (count, thousandths) = events.per_tenant[k];
                    t.events = Some(count);
                    t.tokens = Some(
                        metering::pricing::Decimal::from_i128_with_scale(
                            i128::from(thousandths),
                            3,
                        )
                        .normalize(),
                    );
                }
                (name, t)
            })
            .collect();
        let sink = &self.buffers.sink;
        let events = self.events.as_ref();
        let of_events = |f: fn(&Events) -> u64| events.map(f);
        SimulateSummary {
            bad_events: of_events(|e| e.bad),
            bytes: sink.bytes,
            duplicate_event_lines: of_events(|e| e.duplicates),
            duplicate_lines: self.duplicates,
            event_bytes: of_events(|e| e.buffers.sink.bytes),
            event_files: of_events(|e| e.buffers.sink.files),
            event_lines: of_events(|e| e.billed + e.next_month + e.duplicates + e.bad),
            events: of_events(|e| e.billed),
            files: sink.files,
            late_files: sink.late_files.clone(),
            line_bytes: sink.line_bytes,
            lines: self.index + self.duplicates + self.malformed + self.previous_month_lines,
            malformed_lines: self.malformed,
            month: self.options.month.to_string(),
            next_month_events: of_events(|e| e.next_month),
            previous_month_lines: self.previous_month_lines,
            requests: self.index,
            seed: self.options.seed,
            straddling_files: sink.straddling_files.clone(),
            tenants,
        }
    }
}
