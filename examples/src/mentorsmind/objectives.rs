//! The service's objectives: each is a user journey, named by the routes and call sites that
//! serve it. obs generates their SLI rules, burn-rate alerts and dashboard rows.

use std::time::Duration;

use obs_runtime::Objective;

/// Paying a mentor: 99.5 % of payments go through, 99 % within 2.5 s (Horizon is slow).
pub const PAYMENTS: Objective = Objective::new("payments", 99.5)
    .latency(Duration::from_millis(2500), 99.0)
    .description("Mentees can pay for sessions: POST /payments and its Horizon submission.");

/// Reading and editing profiles: 99.9 % succeed, 99 % within 500 ms.
pub const PROFILES: Objective = Objective::new("profiles", 99.9)
    .latency(Duration::from_millis(500), 99.0)
    .description("Users can see and edit profiles: the /users routes and their queries.");

/// Session reminders: 99 % of reminder jobs complete.
pub const REMINDERS: Objective =
    Objective::new("reminders", 99.0).description("Mentors and mentees are reminded of upcoming sessions.");
