//! Tests of the given code (`given/`): the learner's functions are tested by the step's shared tests (`tests/`);
//! these run on the solution and the starter alike.

use super::*;

#[test]
fn a_stream_error_says_what_failed_and_why() {
    let failed = StreamError::Kinesis("CreateStream: LimitExceededException".to_owned());
    assert_eq!(
        failed.to_string(),
        "Kinesis call failed: CreateStream: LimitExceededException"
    );
    let waiting = StreamError::NotActive {
        status: "CREATING".to_owned(),
    };
    assert_eq!(
        waiting.to_string(),
        "the stream did not become ACTIVE in time (it is CREATING)"
    );
}
