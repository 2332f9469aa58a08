//! Errors that actors answer to callers: [`ServiceError`] (defined in `tally-protocol`, because it
//! crosses nodes) and the flattening of ractor call outcomes into it.

use ractor::{MessagingErr, RactorErr, rpc::CallResult};
pub use tally_protocol::ServiceError;

/// Flattens the outcome of an actor call into a [`ServiceError`] naming `what` was called.
pub(crate) fn flatten_call<T, M>(
    what: &str,
    result: Result<CallResult<Result<T, ServiceError>>, MessagingErr<M>>,
) -> Result<T, ServiceError> {
    match result {
        Ok(CallResult::Success(answer)) => answer,
        Ok(CallResult::Timeout) => Err(ServiceError::Unavailable(format!(
            "{what} did not answer in time"
        ))),
        Ok(CallResult::SenderError) => Err(ServiceError::Unavailable(format!(
            "{what} stopped before answering"
        ))),
        Err(err) => Err(ServiceError::Unavailable(format!(
            "{what} is not running: {}",
            RactorErr::from(err)
        ))),
    }
}
