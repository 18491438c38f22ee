//! The service's objectives. Each measures one kind of event: a journey's objective counts the
//! requests of its routes, what users see; a dependency's objective counts the calls of its
//! call sites. obs generates their SLI rules, burn-rate alerts and dashboard rows.

use std::time::Duration;

use obs_runtime::Objective;

/// Paying a mentor: 99.5 % of `POST /payments` succeed, 99 % within 2.5 s (Horizon is slow).
/// A payment that Horizon accepted but the service failed to store is a failed payment here,
/// whatever Horizon's own objective says.
pub const PAYMENTS: Objective = Objective::new("payments", 99.5)
    .latency(Duration::from_millis(2500), 99.0)
    .description("Mentees can pay for sessions: POST /payments answers without a 5xx.");

/// The dependency under payments: 99 % of Horizon's `submitTransaction` calls succeed, 99 %
/// within 5 s. Its burn says whether a payments page is Horizon's doing.
pub const HORIZON_SUBMIT: Objective = Objective::new("horizon_submit", 99.0)
    .latency(Duration::from_secs(5), 99.0)
    .description("Stellar Horizon accepts the service's transactions.");

/// Reading and editing profiles: 99.9 % of the `/users` routes' requests succeed, 99 % within
/// 500 ms.
pub const PROFILES: Objective = Objective::new("profiles", 99.9)
    .latency(Duration::from_millis(500), 99.0)
    .description("Users can see and edit profiles: the /users routes.");

/// Session reminders: 99 % of reminder jobs complete.
pub const REMINDERS: Objective =
    Objective::new("reminders", 99.0).description("Mentors and mentees are reminded of upcoming sessions.");
