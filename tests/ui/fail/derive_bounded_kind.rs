use obs_runtime::BoundedKind;

#[derive(Debug, BoundedKind)]
enum PaymentError {
    #[obs(kind = "Card Declined")]
    Declined,
    #[obs(transparent)]
    Timeout,
    #[obs(knd = "x")]
    Other,
    #[obs(kind = "a", transparent)]
    Io(std::io::Error),
}

#[derive(BoundedKind)]
struct NotAnEnum {
    code: u16,
}

fn main() {
    let _ = PaymentError::Declined.kind();
}
