//! The kinds obs gives the errors of the crates services call through: `std::io`, sqlx
//! (feature `sqlx`) and redis (feature `redis-rs`); reqwest's is beside the client, in
//! `client.rs`. Each is a short fixed list, so `error.type` and the `error_type` label stay
//! bounded whatever the server says.

use super::outcome::BoundedKind;

/// By [`std::io::ErrorKind`], in snake case; kinds added to std later are `other`.
impl BoundedKind for std::io::Error {
    fn kind(&self) -> &'static str {
        use std::io::ErrorKind as K;
        match std::io::Error::kind(self) {
            K::NotFound => "not_found",
            K::PermissionDenied => "permission_denied",
            K::ConnectionRefused => "connection_refused",
            K::ConnectionReset => "connection_reset",
            K::ConnectionAborted => "connection_aborted",
            K::NotConnected => "not_connected",
            K::AddrInUse => "addr_in_use",
            K::AddrNotAvailable => "addr_not_available",
            K::BrokenPipe => "broken_pipe",
            K::AlreadyExists => "already_exists",
            K::WouldBlock => "would_block",
            K::InvalidInput => "invalid_input",
            K::InvalidData => "invalid_data",
            K::TimedOut => "timed_out",
            K::WriteZero => "write_zero",
            K::Interrupted => "interrupted",
            K::Unsupported => "unsupported",
            K::UnexpectedEof => "unexpected_eof",
            K::OutOfMemory => "out_of_memory",
            _ => "other",
        }
    }
}

/// `row_not_found`, `pool_timed_out`, `pool_closed`; a database error by its constraint
/// (`unique_violation`, `foreign_key_violation`, `not_null_violation`, `check_violation`,
/// `exclusion_violation`) or else by its SQLSTATE class (`connection_exception`,
/// `data_exception`, `integrity_constraint_violation`, `invalid_transaction_state`,
/// `invalid_authorization`, `transaction_rollback` for serialization failures and deadlocks,
/// `syntax_error_or_access_rule_violation`, `insufficient_resources`, `program_limit_exceeded`,
/// `object_not_in_prerequisite_state`, `operator_intervention` for cancelled queries and
/// shutdowns, `system_error`, `internal_error`, else `database_other`); then `io`, `tls`,
/// `protocol`, `configuration`, `decode`, `encode`, `column_not_found`, `type_not_found`,
/// `worker_crashed`, `migrate`, else `other`.
#[cfg(feature = "sqlx")]
impl BoundedKind for sqlx::Error {
    fn kind(&self) -> &'static str {
        use sqlx::Error as E;
        match self {
            E::RowNotFound => "row_not_found",
            E::PoolTimedOut => "pool_timed_out",
            E::PoolClosed => "pool_closed",
            E::Database(error) => database_kind(error.kind(), error.code().as_deref()),
            E::Io(_) => "io",
            E::Tls(_) => "tls",
            E::Protocol(_) => "protocol",
            E::Configuration(_) | E::InvalidArgument(_) => "configuration",
            E::ColumnDecode { .. } | E::Decode(_) => "decode",
            E::Encode(_) => "encode",
            E::ColumnNotFound(_) | E::ColumnIndexOutOfBounds { .. } => "column_not_found",
            E::TypeNotFound { .. } => "type_not_found",
            E::WorkerCrashed => "worker_crashed",
            E::Migrate(_) => "migrate",
            _ => "other",
        }
    }
}

#[cfg(feature = "sqlx")]
fn database_kind(kind: sqlx::error::ErrorKind, code: Option<&str>) -> &'static str {
    use sqlx::error::ErrorKind as K;
    match kind {
        K::UniqueViolation => return "unique_violation",
        K::ForeignKeyViolation => return "foreign_key_violation",
        K::NotNullViolation => return "not_null_violation",
        K::CheckViolation => return "check_violation",
        K::ExclusionViolation => return "exclusion_violation",
        _ => {}
    }
    // SQLSTATE: the first two characters are the class (SQL standard, PostgreSQL appendix A).
    match code.and_then(|code| code.get(..2)) {
        Some("08") => "connection_exception",
        Some("22") => "data_exception",
        Some("23") => "integrity_constraint_violation",
        Some("25") => "invalid_transaction_state",
        Some("28") => "invalid_authorization",
        Some("40") => "transaction_rollback",
        Some("42") => "syntax_error_or_access_rule_violation",
        Some("53") => "insufficient_resources",
        Some("54") => "program_limit_exceeded",
        Some("55") => "object_not_in_prerequisite_state",
        Some("57") => "operator_intervention",
        Some("58") => "system_error",
        Some("XX") => "internal_error",
        _ => "database_other",
    }
}

/// `timeout`, `connection_refused`, `connection_dropped`, `authentication_failed`,
/// `type_error` (a reply of another type than asked), `server_error` (an error reply such as
/// `WRONGTYPE`), `parse`, else `other`.
#[cfg(feature = "redis-rs")]
impl BoundedKind for redis::RedisError {
    fn kind(&self) -> &'static str {
        use redis::ErrorKind as K;
        if self.is_timeout() {
            return "timeout";
        }
        if self.is_connection_refusal() {
            return "connection_refused";
        }
        if self.is_connection_dropped() {
            return "connection_dropped";
        }
        match redis::RedisError::kind(self) {
            K::AuthenticationFailed => "authentication_failed",
            K::UnexpectedReturnType => "type_error",
            K::Server(_) => "server_error",
            K::Parse => "parse",
            _ => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_named_by_their_kind() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(BoundedKind::kind(&refused), "connection_refused");
        assert_eq!(BoundedKind::kind(&std::io::Error::other("x")), "other");
    }

    #[cfg(feature = "sqlx")]
    #[test]
    fn sqlstate_classes_are_named_and_unknown_classes_are_bounded() {
        use sqlx::error::ErrorKind as K;
        assert_eq!(database_kind(K::UniqueViolation, Some("23505")), "unique_violation");
        assert_eq!(database_kind(K::Other, Some("40P01")), "transaction_rollback");
        assert_eq!(database_kind(K::Other, Some("57014")), "operator_intervention");
        assert_eq!(database_kind(K::Other, Some("ZZ999")), "database_other");
        assert_eq!(database_kind(K::Other, None), "database_other");
        assert_eq!(BoundedKind::kind(&sqlx::Error::RowNotFound), "row_not_found");
        assert_eq!(BoundedKind::kind(&sqlx::Error::PoolTimedOut), "pool_timed_out");
    }
}
